import sys

from targeting.cli.main import main

sys.exit(main())

"""The planner's report: :mod:`~targeting.report.data` collects a cycle's aggregates,
:mod:`~targeting.report.render` fills the Jinja2 template with them (texts in ``text/*.yaml``)."""

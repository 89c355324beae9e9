"""The served PMT model answers a bad request without repeating its values (issue 11, point 6).

MLflow's schema enforcement answered a value of the wrong type with an HTTP 400 that repeated the
value (a NIK typed into ``hh_size``), and dropped personal-data columns silently. Here the
logged model is asked through MLflow's own scoring-server code path (``invocations``, what
``mlflow models serve`` runs per request); ``tests/tracking/test_serving.py`` asks a real server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.feedback.refit import synthetic_input_example
from targeting.feedback.rounds import fit_champion
from tests.helpers.planted import NIK, bad_requests, request_body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    from targeting.tracking.model import log_pmt_model

    folder: Path = tmp_path_factory.mktemp("serve-privacy")
    city = generate_city(n_households=2_000, seed=7, survey_fraction=0.2)
    survey = schema.validate_survey(city.survey).valid
    model = fit_champion(survey, "ols", seed=7)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = mlflow.create_experiment("serve", artifact_location=(folder / "a").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        version = log_pmt_model(model, synthetic_input_example(7), "model-champion", "serve-pmt")
    pyfunc = mlflow.pyfunc.load_model(f"models:/serve-pmt/{version}")
    return pyfunc, city.registry.head(5)


def _ask(pyfunc, text: str) -> tuple[int, str]:
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    try:
        answer = scoring_server.invocations(
            text, "application/json", pyfunc, pyfunc.metadata.get_input_schema()
        )
    except MlflowException as exc:
        return exc.get_http_status_code(), exc.serialize_as_json()
    return answer.status, answer.response


def test_good_rows_are_scored(served) -> None:
    pyfunc, rows = served
    status, text = _ask(pyfunc, request_body(rows[schema.MODEL_COLUMNS]))
    assert status == 200
    assert list(pd.DataFrame(json.loads(text)["predictions"]).columns) == [
        "p_extreme",
        "p_low",
        "p_high",
        "desil",
    ]


@pytest.mark.parametrize(
    "case", ["nik_in_count", "nik_in_bool", "name_in_category", "personal_columns"]
)
def test_bad_requests_are_refused_without_their_values(served, case: str) -> None:
    pyfunc, rows = served
    status, text = _ask(pyfunc, request_body(bad_requests(rows)[case]))
    assert status == 400
    assert NIK not in text and "Zzyzx" not in text and "Planted" not in text
    assert NIK[:12] not in text  # not even a part of it
    expected = {
        "nik_in_count": "hh_size in row(s) 2",
        "nik_in_bool": "has_car in row(s) 1",
        "name_in_category": "floor_material in row(s) 3",
        "personal_columns": "personal-data columns ['head_name', 'nik_head']",
    }[case]
    assert expected in text

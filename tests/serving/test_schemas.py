import json

import pytest
from pydantic import ValidationError

from serving.schemas import ScoreAccountsRequest, ScoreRequest


def errors_of(model: type, body: str) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(body)
    return caught.value.errors(include_input=False)


def test_a_valid_request_keeps_missing_features_missing() -> None:
    request = ScoreRequest.model_validate_json(
        json.dumps(
            {
                "accounts": [
                    {
                        "account_id": "a1",
                        "segment": "SMB",
                        "features": {"arr": 1200, "nps_last": None, "account_industry": "Retail"},
                    }
                ]
            }
        )
    )
    assert request.accounts[0].features == {
        "arr": 1200.0,
        "nps_last": None,
        "account_industry": "Retail",
    }


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ('{"accounts": []}', ("accounts",)),
        ('{"accounts": [{"account_id": "a", "colour": "red"}]}', ("accounts", 0, "colour")),
        ('{"accounts": [{"account_id": 7}]}', ("accounts", 0, "account_id")),
        ('{"accounts": [{"account_id": ""}]}', ("accounts", 0, "account_id")),
        (
            '{"accounts": [{"account_id": "a", "features": {"arr": NaN}}]}',
            ("accounts", 0, "features", "arr"),
        ),
        (
            '{"accounts": [{"account_id": "a", "features": {"arr": Infinity}}]}',
            ("accounts", 0, "features", "arr"),
        ),
        (
            '{"accounts": [{"account_id": "a", "features": {"arr": true}}]}',
            ("accounts", 0, "features", "arr"),
        ),
        ('{"accounts": [{"account_id": "a"}], "extra": 1}', ("extra",)),
    ],
)
def test_score_request_rejects_naming_the_field(body: str, loc: tuple) -> None:
    errors = errors_of(ScoreRequest, body)
    assert any(tuple(e["loc"][: len(loc)]) == loc for e in errors)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ('{"account_ids": []}', ("account_ids",)),
        ('{"account_ids": [1]}', ("account_ids", 0)),
        ('{"account_ids": ["a"], "as_of": "31/12/2024"}', ("as_of",)),
        ('{"account_ids": ["a"], "limit": 3}', ("limit",)),
        ('{"account_ids": "a"}', ("account_ids",)),
    ],
)
def test_score_accounts_request_rejects_naming_the_field(body: str, loc: tuple) -> None:
    errors = errors_of(ScoreAccountsRequest, body)
    assert [tuple(e["loc"]) for e in errors] == [loc]


def test_as_of_is_an_iso_date() -> None:
    request = ScoreAccountsRequest.model_validate_json(
        '{"account_ids": ["a"], "as_of": "2024-08-01"}'
    )
    assert request.as_of.isoformat() == "2024-08-01"


def test_validation_errors_never_carry_the_input() -> None:
    secret = "jane.doe@example.com"
    for body in (
        f'{{"accounts": [{{"account_id": "a", "as_of": "{secret}"}}]}}',
        f'{{"accounts": [{{"account_id": "a", "features": {{"arr": ["{secret}"]}}}}]}}',
        f'{{"account_ids": ["a"], "as_of": "{secret}"}}',
    ):
        model = ScoreAccountsRequest if "account_ids" in body else ScoreRequest
        with pytest.raises(ValidationError) as caught:
            model.model_validate_json(body)
        assert secret not in str(caught.value)
        assert "input_value" not in str(caught.value)


@pytest.mark.parametrize("day", ["0124-08-18", "8106-03-23", "1899-12-31", "2200-01-01"])
def test_dates_outside_1900_to_2199_are_refused(day: str) -> None:
    errors = errors_of(ScoreAccountsRequest, f'{{"account_ids": ["a"], "as_of": "{day}"}}')
    assert [tuple(e["loc"]) for e in errors] == [("as_of",)]
    assert ScoreAccountsRequest.model_validate_json('{"account_ids": ["a"], "as_of": "2199-12-31"}')

from evaluation._headline import headline_model


def test_chosen_first_then_segmented_then_any_but_the_oracle() -> None:
    assert headline_model(["segmented", "global", "chosen", "oracle"]) == "chosen"
    assert headline_model(["global", "segmented", "oracle"]) == "segmented"
    assert headline_model(["oracle", "logistic"]) == "logistic"
    assert headline_model(["oracle"]) is None
    assert headline_model({}) is None

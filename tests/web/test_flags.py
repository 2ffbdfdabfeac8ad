"""Yes or no as text: one parser for every option that takes it (``cache``, ``units``)."""
import pytest

from flask_qed.web.flags import yes_or_no


@pytest.mark.parametrize("text,answer", [("true", True), ("1", True), ("YES", True), (" yes ", True),
                                         ("false", False), ("0", False), ("No", False), (" FALSE", False),
                                         (None, None), ("", None), ("  ", None)])
def test_the_words_it_takes(text, answer):
    assert yes_or_no(text) is answer


@pytest.mark.parametrize("text", ["maybe", "2", "on", "off", "y", "t", "truee", "1.0"])
def test_other_text_is_refused(text):
    with pytest.raises(ValueError):
        yes_or_no(text)

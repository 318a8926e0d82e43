"""The result card's values are formatted once in selectors, as Django's filters would show them."""

import pytest
from django.template.defaultfilters import filesizeformat, floatformat

from packshots.selectors import _file_size, _html, _two_places


@pytest.mark.parametrize(
    "size",
    [0, 1, 2, 1023, 1024, 1025, 1536, 210_000, 2_621_440, 1_073_741_823, 1_073_741_824, 5 * 2**40, 3 * 2**50],
)
def test_file_sizes_read_as_filesizeformat_shows_them(size):
    assert _file_size(size) == filesizeformat(size)


@pytest.mark.parametrize("value", [0.0, 0.8, 0.91, 0.125, 0.375, 0.005, 0.995, 1.0, 12.345, -0.5, 1234.5])
def test_scores_read_as_floatformat_2_shows_them(value):
    assert _two_places(value) == floatformat(value, 2)


def test_a_missing_score_stays_missing():
    assert _two_places(None) is None


def test_card_text_is_escaped_once():
    assert _html("<b>“edge”</b> & 'co'") == "&lt;b&gt;“edge”&lt;/b&gt; &amp; &#x27;co&#x27;"

"""SMS segments: GSM-7 and UCS-2 sizes as carriers count them, and bodies cut to a budget."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.sms_segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    encoding_of,
    fit,
    measure,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", Encoding.GSM7, 0, 0),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("€" * 80, Encoding.GSM7, 160, 1),  # extension characters take two septets
        ("€" * 81, Encoding.GSM7, 162, 2),
        ("{}[]~|^\\\f€", Encoding.GSM7, 20, 1),
        ("Åre Öst Ärla åäö ÆØæøß É é ü ñ à", Encoding.GSM7, 32, 1),  # Nordic letters are GSM-7
        ("a" * 69 + "ł", Encoding.UCS2, 70, 1),  # one Polish letter: all of it UCS-2
        ("a" * 70 + "ł", Encoding.UCS2, 71, 2),
        ("ł" * 134, Encoding.UCS2, 134, 2),
        ("ł" * 135, Encoding.UCS2, 135, 3),
        ("😀" * 35, Encoding.UCS2, 70, 1),  # beyond the BMP: a surrogate pair, two units
        ("😀" * 36, Encoding.UCS2, 72, 2),
        ("…", Encoding.UCS2, 1, 1),  # the ellipsis character is not GSM-7
    ],
)
def test_measure_counts_units_and_segments(
    text: str, encoding: Encoding, units: int, segments: int
) -> None:
    found = measure(text)
    assert (found.encoding, found.units, found.segments) == (encoding, units, segments)


def test_a_split_never_cuts_an_escape_or_a_surrogate_pair() -> None:
    # 152 septets, then an escape pair that does not fit in the first segment's 153: the pair
    # opens the second segment, so 306 septets need three segments where 2 x 153 would do.
    assert measure("a" * 152 + "€" + "a" * 152).segments == 3
    assert measure("a" * 151 + "€" + "a" * 153).segments == 2  # 153 and 153
    assert measure("ł" * 66 + "😀" + "ł" * 66).segments == 3  # same for a surrogate pair
    assert measure("ł" * 65 + "😀" + "ł" * 67).segments == 2


def test_the_alphabets_are_gsm_03_38() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes, the escape code excepted
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert encoding_of("`") is Encoding.UCS2  # the backtick is in neither table


def test_a_body_that_fits_is_unchanged() -> None:
    assert fit("a" * 306, 2) == "a" * 306
    assert fit("ł" * 70, 1) == "ł" * 70


def test_a_gsm_body_is_cut_with_three_dots_so_it_stays_gsm() -> None:
    cut = fit("word " * 100, 2)
    assert cut.endswith("...")
    assert not cut.endswith(" ...")  # trailing spaces before the ellipsis are dropped
    assert measure(cut).encoding is Encoding.GSM7
    assert measure(cut).segments == 2
    assert len(cut) >= 300  # close to the 306 septets two segments hold
    assert ("word " * 100).startswith(cut[:-3])


def test_a_ucs2_body_is_cut_with_the_ellipsis_character() -> None:
    cut = fit("łódź " * 40, 1)
    assert cut.endswith("…")
    assert measure(cut).segments == 1
    assert measure(cut).units <= 70
    assert len(cut) >= 66


def test_a_cut_that_drops_the_only_non_gsm_characters_becomes_gsm() -> None:
    text = "a" * 200 + "ł"
    cut = fit(text, 1)
    assert cut == "a" * 157 + "..."  # GSM-7 holds 160, where UCS-2 would hold 70
    assert measure(cut).encoding is Encoding.GSM7


def test_an_extension_character_at_the_end_of_a_cut_still_fits() -> None:
    cut = fit("€" * 200, 1)
    assert cut == "€" * 78 + "..."  # 156 + 3 septets
    assert measure(cut).segments == 1


@pytest.mark.parametrize("segments", [0, 11])
def test_the_budget_is_one_to_ten_segments(segments: int) -> None:
    with pytest.raises(ValueError, match="max_segments"):
        fit("text", segments)


ALPHABET = st.sampled_from([*sorted(GSM7_BASIC | GSM7_EXTENSION), "ł", "😀", "…", " "])


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=900), segments=st.integers(1, 10))
def test_fit_always_fits_and_keeps_the_start(text: str, segments: int) -> None:
    cut = fit(text, segments)
    assert measure(cut).segments <= segments
    if cut != text:
        shown = cut.removesuffix("...").removesuffix("…")
        assert shown != cut
        assert text.startswith(shown)
        # Nothing longer would have fitted in the same encoding: one more character overflows.
        ellipsis = cut[len(shown) :]
        longer = text[: len(shown) + 1].rstrip() + ellipsis
        if len(text[: len(shown) + 1].rstrip()) > len(shown):
            grown = measure(longer)
            assert grown.segments > segments or grown.encoding is not measure(cut).encoding

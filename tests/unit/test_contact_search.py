"""The call task screen's query, pure: form fields into a search, the page cursor, and
which rows make a page and its neighbours' cursors."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialerd.contacts.search import (
    PAGE_SIZE,
    Cursor,
    Search,
    SearchError,
    decode_cursor,
    encode_cursor,
    make_page,
    parse_search,
)
from dialerd.domain import Connres, ContactFilter, ContactSort, SearchState

OSLO = ZoneInfo("Europe/Oslo")


def parse(**form: str) -> Search:
    return parse_search(form, 7, "NO", OSLO)


def test_an_empty_form_searches_the_whole_campaign_by_id() -> None:
    assert parse() == Search(ContactFilter(7), ContactSort.ID, False, None)
    assert parse(name=" ", number="", sort="") == parse()


def test_every_field_becomes_its_condition() -> None:
    s = parse(
        name="Ola N",
        number="912 34 567",
        customer="C-17",
        state="due",
        outcome="3",
        next_from="2026-12-01T08:00",
        next_to="2026-12-02T08:00+00:00",
        sort="-next_try",
    )
    assert s.filter == ContactFilter(
        campaign_id=7,
        name_like="Ola N%",
        number="+4791234567",
        customer="C-17",
        state=SearchState.DUE,
        connres=Connres.BUSY,
        next_from=datetime(2026, 12, 1, 8, 0, tzinfo=OSLO),
        next_to=datetime.fromisoformat("2026-12-02T08:00+00:00"),
    )
    assert (s.sort, s.descending, s.sort_text) == (ContactSort.NEXT_TRY, True, "-next_try")


@pytest.mark.parametrize(
    "typed", ["+47 912 34 567", "0047 91234567", "91234567", "912-34-567", "(912) 34 567"]
)
def test_a_number_in_any_format_is_the_e164_the_store_holds(typed: str) -> None:
    assert parse(number=typed).filter.number == "+4791234567"


def test_like_wildcards_in_a_name_are_literal() -> None:
    assert parse(name=r"50%_off\x").filter.name_like == r"50\%\_off\\x%"


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(SearchError) as caught:
        parse(number="12", state="busy", outcome="9", next_from="tomorrow", sort="age")
    assert set(caught.value.errors) == {"number", "state", "outcome", "next_from", "sort"}
    assert "not a possible phone number" in caught.value.errors["number"]
    assert "open, locked, done, finished, due" in caught.value.errors["state"]


def test_a_local_number_without_a_campaign_region_says_why() -> None:
    with pytest.raises(SearchError) as caught:
        parse_search({"number": "91234567"}, 7, None, OSLO)
    assert "+country code" in caught.value.errors["number"]


def test_overlong_and_nul_fields_are_refused() -> None:
    with pytest.raises(SearchError) as caught:
        parse(name="x" * 201, customer="a\x00b")
    assert set(caught.value.errors) == {"name", "customer"}


def test_a_cursor_round_trips_and_must_belong_to_the_sort() -> None:
    for cursor in (Cursor("id", False, None, 17), Cursor("-name", True, "ola", 2**62)):
        assert decode_cursor(encode_cursor(cursor)) == cursor
    text = encode_cursor(Cursor("name", False, "ola", 3))
    assert parse(sort="name", cursor=text).cursor == Cursor("name", False, "ola", 3)
    with pytest.raises(SearchError) as caught:
        parse(sort="-name", cursor=text)
    assert "another sort order" in caught.value.errors["cursor"]


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        encode_cursor(Cursor("id", False, "x", 1)),  # by id there is no key
        encode_cursor(Cursor("name", False, None, 1)),  # by name there is one
        encode_cursor(Cursor("age", False, None, 1)),
        encode_cursor(Cursor("id", False, None, 0)),
        "WyJpZCIsZmFsc2UsbnVsbCx0cnVlXQ",  # ["id",false,null,true]
        "WyJpZCJd",  # ["id"]
    ],
)
def test_anything_else_is_not_a_cursor(text: str) -> None:
    with pytest.raises(ValueError, match="not a page cursor"):
        decode_cursor(text)


def rows(ids: range) -> list[tuple[str, int]]:
    return [(f"k{i}", i) for i in ids]


def position(row: tuple[str, int]) -> tuple[str | None, int]:
    return row


def test_the_first_page_has_a_next_cursor_only_when_the_store_found_more() -> None:
    search = parse(sort="name")
    page = make_page(search, rows(range(1, PAGE_SIZE + 2)), position)
    assert [r[1] for r in page.items] == list(range(1, PAGE_SIZE + 1))
    assert page.next == Cursor("name", False, f"k{PAGE_SIZE}", PAGE_SIZE)
    assert page.previous is None
    assert make_page(search, rows(range(1, 4)), position).next is None


def test_a_page_back_is_read_backwards_and_shown_forwards() -> None:
    back = Cursor("name", True, "k100", 100)
    search = parse(sort="name", cursor=encode_cursor(back))
    assert search.ascending_walk is False
    read = rows(range(99, 99 - PAGE_SIZE - 1, -1))  # as the store walks: 99, 98, …
    page = make_page(search, read, position)
    assert [r[1] for r in page.items] == list(range(100 - PAGE_SIZE, 100))
    assert page.previous == Cursor("name", True, f"k{100 - PAGE_SIZE}", 100 - PAGE_SIZE)
    assert page.next == Cursor("name", False, "k99", 99)
    # Back at the start: no previous page.
    assert make_page(search, rows(range(3, 0, -1)), position).previous is None


def test_descending_pages_walk_down_and_back_walks_up() -> None:
    assert parse(sort="-id").ascending_walk is False
    back = encode_cursor(Cursor("-id", True, None, 5))
    assert parse(sort="-id", cursor=back).ascending_walk is True


def test_an_empty_page_after_a_cursor_leads_back_to_where_it_was() -> None:
    cursor = Cursor("id", False, None, 40)
    page = make_page(parse(cursor=encode_cursor(cursor)), rows(range(0)), position)
    assert page.items == [] and page.next is None
    assert page.previous == Cursor("id", True, None, 40)

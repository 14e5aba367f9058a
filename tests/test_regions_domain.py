"""Regions' domain, without a database: reading ACS exports, the mapping to the platform's
bands, the checks that parts add up, and the figures per region."""

import csv
import io
import math
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engagement.regions.acs import ANNOTATIONS, ColumnKind, ExportError, parse_export, read_value
from services.engagement.regions.baselines import prepare
from services.engagement.regions.mapping import Role, band_for, label_range, propose
from shared.demographics import CATALOGUE, TOTAL, Dimension

ACS = Path(__file__).resolve().parent.parent / "data" / "acs"
INCOME = ACS / "ACSDT5Y2024.B19001-Data.target-counties.csv"
TENURE = ACS / "ACSDT5Y2024.B25003-Data.target-counties.csv"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def _lines(path: Path) -> list[str]:
    return _text(path).splitlines(keepends=True)


def test_the_real_exports_are_read_with_their_quirks() -> None:
    tenure = parse_export(TENURE.read_bytes().decode("utf-8"), TENURE.name)  # the BOM left in: still read
    assert tenure.table == "B25003" and tenure.year == 2024
    assert [c.code for c in tenure.columns][:3] == ["GEO_ID", "NAME", "B25003_001E"]
    assert len(tenure.rows) == 16
    alameda = tenure.rows[0]
    assert (alameda.row, alameda.geo_id, alameda.name) == (3, "0500000US06001", "Alameda County, California")
    assert alameda.readings["B25003_003E"].value == 272737
    assert alameda.readings["B25003_003M"].value == 2935
    income = parse_export(_text(INCOME), INCOME.name)
    assert income.column("B19001_003E").path == ("Total:", "$10,000 to $14,999")
    assert income.column("B19001_003M").kind is ColumnKind.MARGIN


def test_b19001s_sixteen_brackets_are_proposed_as_the_platforms_seven_income_bands() -> None:
    proposal = propose(parse_export(_text(INCOME), INCOME.name))
    assert proposal.dimension is Dimension.HOUSEHOLD_INCOME
    assert proposal.total is not None and proposal.total.code == "B19001_001E"
    assert proposal.unknown == ()
    bands = {band: [c.code[-4:-1] for c in columns] for band, columns in proposal.bands.items()}
    assert bands == {
        "under_25000": ["002", "003", "004", "005"],
        "25000_49999": ["006", "007", "008", "009", "010"],
        "50000_74999": ["011", "012"],
        "75000_99999": ["013"],
        "100000_149999": ["014", "015"],
        "150000_199999": ["016"],
        "200000_plus": ["017"],
    }
    assert list(bands) == [b.code for b in CATALOGUE[Dimension.HOUSEHOLD_INCOME].bands]


def test_b25003_is_proposed_as_tenure() -> None:
    proposal = propose(parse_export(_text(TENURE), TENURE.name))
    assert proposal.dimension is Dimension.TENURE
    assert {band: [c.code for c in cs] for band, cs in proposal.bands.items()} == {
        "owner": ["B25003_002E"],
        "renter": ["B25003_003E"],
    }


def test_figures_sum_the_brackets_and_combine_their_margins() -> None:
    baselines = prepare(_text(INCOME), INCOME.name)
    alameda = baselines.regions[0]
    figures = {f.band: f for f in alameda.figures}
    assert figures[TOTAL].estimate == 598246 and figures[TOTAL].margin == 1734
    assert figures["under_25000"].estimate == 24647 + 16304 + 11029 + 13365
    assert figures["under_25000"].margin == round(math.sqrt(1452**2 + 1044**2 + 909**2 + 968**2))
    assert figures["200000_plus"].estimate == 192363 and figures["200000_plus"].margin == 2717
    for region in baselines.regions:
        by_band = {f.band: f.estimate for f in region.figures}
        assert sum(v for b, v in by_band.items() if b != TOTAL) == by_band[TOTAL], region.geo_id


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Less than $10,000", (0, 10_000)),
        ("$10,000 to $14,999", (10_000, 15_000)),
        ("$200,000 or more", (200_000, None)),
        ("Under 5 years", (0, 5)),
        ("18 and 19 years", (18, 20)),
        ("20 years", (20, 21)),
        ("22 to 24 years", (22, 25)),
        ("85 years and over", (85, None)),
        ("Owner occupied", None),
    ],
)
def test_label_ranges(label: str, expected: tuple[int, int | None] | None) -> None:
    assert label_range(label) == expected


def test_a_bracket_across_two_bands_is_not_guessed() -> None:
    assert band_for(Dimension.HOUSEHOLD_INCOME, "$20,000 to $29,999") == (
        None,
        "spans more than one of the platform's bands",
    )
    assert band_for(Dimension.AGE, "18 and 19 years") == ("18_24", "")
    assert band_for(Dimension.AGE, "85 years and over") == ("65_plus", "")


def _export(codes: list[str], labels: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for record in (codes, labels, *rows):
        writer.writerow(record)
    return out.getvalue().replace("\n", ",\n")


def _table(table: str, labels: list[str], rows: list[tuple[str, list[int]]]) -> str:
    codes, label_row = ["GEO_ID", "NAME"], ["Geography", "Geographic Area Name"]
    for n, label in enumerate(labels, start=1):
        codes += [f"{table}_{n:03d}E", f"{table}_{n:03d}M"]
        label_row += [f"Estimate!!{label}", f"Margin of Error!!{label}"]
    data = [
        [geo_id, f"Place {geo_id}"] + [str(v) for e in values for v in (e, 10)] for geo_id, values in rows
    ]
    return _export(codes, label_row, data)


def test_age_by_sex_sums_both_sexes_into_the_platforms_age_bands() -> None:
    labels = ["Total:", "Total:!!Male:", "Total:!!Male:!!Under 5 years", "Total:!!Male:!!18 and 19 years"]
    labels += ["Total:!!Female:", "Total:!!Female:!!Under 5 years", "Total:!!Female:!!18 and 19 years"]
    text = _table("B01001", labels, [("0500000US06001", [100, 40, 30, 10, 60, 20, 40])])
    baselines = prepare(text, "B01001.csv", 2024)
    roles = {c.code: c.role for c in baselines.proposal.columns}
    assert roles["B01001_002E"] is Role.PARTS and roles["B01001_005E"] is Role.PARTS
    assert {f.band: f.estimate for f in baselines.regions[0].figures} == {
        TOTAL: 100,
        "under_18": 50,
        "18_24": 50,
    }


def test_hispanic_or_latino_of_any_race_is_one_band_and_its_races_are_not_counted_again() -> None:
    labels = [
        "Total:",
        "Total:!!Not Hispanic or Latino:",
        "Total:!!Not Hispanic or Latino:!!White alone",
        "Total:!!Not Hispanic or Latino:!!Two or more races:",
        "Total:!!Not Hispanic or Latino:!!Two or more races:!!Two races including Some other race",
        "Total:!!Hispanic or Latino:",
        "Total:!!Hispanic or Latino:!!White alone",
    ]
    text = _table("B03002", labels, [("0500000US06001", [100, 70, 60, 10, 10, 30, 30])])
    baselines = prepare(text, "B03002.csv", 2024)
    roles = [c.role for c in baselines.proposal.columns]
    assert roles == [Role.TOTAL, Role.PARTS, Role.BAND, Role.BAND, Role.WITHIN, Role.BAND, Role.WITHIN]
    figures = {f.band: f.estimate for f in baselines.regions[0].figures}
    assert figures == {TOTAL: 100, "white": 60, "two_or_more": 10, "hispanic_latino": 30}


def test_a_column_that_matches_no_band_is_reported_not_guessed() -> None:
    text = _table("B25003", ["Total:", "Total:!!Owner occupied", "Total:!!Boat occupied"], [])
    text += '"0500000US06001","A",' + ",".join('"1"' for _ in range(6)) + ",\n"
    with pytest.raises(ExportError, match="add up"):  # 1 + 1 is not 1: the table itself is checked
        prepare(text, "t.csv", 2024)
    good = _table(
        "B25003",
        ["Total:", "Total:!!Owner occupied", "Total:!!Boat occupied"],
        [("0500000US06001", [3, 2, 1])],
    )
    proposal = prepare(good, "t.csv", 2024).proposal
    assert [(c.code, c.note) for c in proposal.unknown] == [("B25003_003E", "no band of this name")]


def test_an_annotation_in_a_band_leaves_that_band_out_and_says_why() -> None:
    lines = _lines(INCOME)
    lines[2] = lines[2].replace('"16304","1044"', '"-","**"', 1)
    baselines = prepare("".join(lines), INCOME.name)
    alameda = baselines.regions[0]
    assert "under_25000" not in {f.band for f in alameda.figures}
    assert alameda.left_out == ("under_25000: B19001_003E is '-' (" + ANNOTATIONS["-"] + ")",)
    assert {f.band for f in baselines.regions[1].figures} >= {"under_25000"}


@pytest.mark.parametrize(
    ("raw", "kind", "value", "reason"),
    [
        ("598246", ColumnKind.ESTIMATE, Decimal(598246), None),
        ("12.5", ColumnKind.ESTIMATE, Decimal("12.5"), None),
        ("(X)", ColumnKind.ESTIMATE, None, "does not apply"),
        ("N", ColumnKind.ESTIMATE, None, "not published (too few cases)"),
        ("*****", ColumnKind.MARGIN, Decimal(0), "no margin applies: the estimate is exact"),
        ("*****", ColumnKind.ESTIMATE, None, "no margin applies: the estimate is exact"),
        ("**", ColumnKind.MARGIN, None, ANNOTATIONS["**"]),
        ("250,000+", ColumnKind.ESTIMATE, None, "open-ended: a median beyond 250,000"),
        ("2,500-", ColumnKind.ESTIMATE, None, "open-ended: a median beyond 2,500"),
    ],
)
def test_values_and_annotations(
    raw: str, kind: ColumnKind, value: Decimal | None, reason: str | None
) -> None:
    reading = read_value(raw, kind)
    assert reading is not None and (reading.value, reading.reason) == (value, reason)


@pytest.mark.parametrize("raw", ["abc", "", "1 2", "12a", "--"])
def test_other_values_are_not_read(raw: str) -> None:
    assert read_value(raw, ColumnKind.ESTIMATE) is None


def _fault(path: Path, edit: dict[int, tuple[str, str]]) -> ExportError:
    lines = _lines(path)
    for index, (old, new) in edit.items():
        assert old in lines[index]
        lines[index] = lines[index].replace(old, new, 1)
    with pytest.raises(ExportError) as caught:
        prepare("".join(lines), path.name)
    return caught.value


def test_a_value_that_is_not_a_number_names_its_row_and_column() -> None:
    error = _fault(INCOME, {4: ('"1975"', '"abc"')})  # Marin, $10,000 to $14,999
    assert (error.row, error.column) == (5, "B19001_003E")
    assert str(error).startswith(f"{INCOME.name}, row 5, column B19001_003E: 'abc' is neither")


def test_a_row_with_a_value_missing_names_the_column_it_lacks() -> None:
    error = _fault(TENURE, {8: (',"3317",', ",")})  # Santa Clara's last margin cut
    assert (error.row, error.column) == (9, "B25003_003M")


def test_a_column_cut_from_the_file_shows_as_parts_that_do_not_add_up() -> None:
    lines = [next(csv.reader([line])) for line in _lines(INCOME)]
    cut = [record[:8] + record[10:] for record in lines]  # B19001_004E and its margin gone
    text = "".join(",".join(f'"{v}"' for v in record[:-1]) + ",\n" for record in cut)
    with pytest.raises(ExportError) as caught:
        prepare(text, INCOME.name)
    assert (caught.value.row, caught.value.column) == (3, "B19001_001E")
    assert "add up to 587217, not 598246" in str(caught.value)


def test_an_estimate_without_its_margin_column_is_a_cut_file() -> None:
    lines = [next(csv.reader([line])) for line in _lines(TENURE)]
    cut = [record[:5] + record[6:] for record in lines]  # B25003_002M gone
    text = "".join(",".join(f'"{v}"' for v in record[:-1]) + ",\n" for record in cut)
    with pytest.raises(ExportError) as caught:
        prepare(text, TENURE.name)
    assert (caught.value.row, caught.value.column) == (1, "B25003_002M")


def test_other_faults_are_named() -> None:
    assert _fault(TENURE, {3: ("0500000US06013", "0500000US06001")}).column == "GEO_ID"  # twice
    state = _fault(TENURE, {3: ("0500000US06013", "0400000US06")})
    assert (state.row, state.column) == (4, "GEO_ID") and "not a geography the platform keeps" in str(state)
    negative = _fault(TENURE, {3: ('"281819"', '"-281819"')})
    assert (negative.row, negative.column) == (4, "B25003_002E")
    with pytest.raises(ExportError, match="table B99999 is not one the platform maps"):
        prepare(_table("B99999", ["Total:"], [("0500000US06001", [1])]), "x.csv", 2024)
    with pytest.raises(ExportError, match="does not say the year"):
        prepare(_text(TENURE), "renamed.csv")
    assert prepare(_text(TENURE), "renamed.csv", 2023).year == 2023


# Generated exports: the parser must give back exactly what was written, however it was quoted.
_ANNOTATION = st.sampled_from(sorted(ANNOTATIONS))
_VALUE = st.one_of(st.integers(0, 10**9).map(str), _ANNOTATION, st.sampled_from(["250,000+", "2,500-"]))
_NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)


@st.composite
def _exports(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, list[str]]], int]:
    parts = draw(st.integers(1, 5))
    labels = ["Total:"] + [f"Total:!!{draw(_NAME).replace('!', '')}, band {n}" for n in range(parts)]
    fips = draw(st.lists(st.integers(0, 99999), min_size=1, max_size=8, unique=True))
    rows = [(f"0500000US{f:05d}", draw(_NAME), [draw(_VALUE) for _ in range(2 * len(labels))]) for f in fips]
    codes, label_row = ["GEO_ID", "NAME"], ["Geography", "Geographic Area Name"]
    for n, label in enumerate(labels, start=1):
        codes += [f"B25003_{n:03d}E", f"B25003_{n:03d}M"]
        label_row += [f"Estimate!!{label}", f"Margin of Error!!{label}"]
    out = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL, csv.QUOTE_NONNUMERIC]))
    writer = csv.writer(out, quoting=quoting, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    trailing = draw(st.booleans())
    for record in (codes, label_row, *([geo, name, *values] for geo, name, values in rows)):
        writer.writerow([*record, ""] if trailing else record)
    bom = "\ufeff" if draw(st.booleans()) else ""
    return bom + out.getvalue(), rows, len(labels)


@settings(max_examples=150, deadline=None)
@given(_exports())
def test_generated_exports_read_back_as_written(
    generated: tuple[str, list[tuple[str, str, list[str]]], int],
) -> None:
    text, rows, columns = generated
    export = parse_export(text, "generated.csv")
    assert [(r.geo_id, r.name) for r in export.rows] == [(geo, name) for geo, name, _ in rows]
    assert [r.row for r in export.rows] == list(range(3, 3 + len(rows)))
    for parsed, (_, _, values) in zip(export.rows, rows, strict=True):
        readings = [parsed.readings[f"B25003_{n:03d}{s}"] for n in range(1, columns + 1) for s in "EM"]
        for index, (reading, raw) in enumerate(zip(readings, values, strict=True)):
            assert reading.raw == raw
            if raw.isdigit():
                assert reading.value == int(raw) and reading.reason is None
            elif raw == "*****" and index % 2 == 1:  # a margin: exact estimate, margin 0
                assert reading.value == 0
            else:
                assert reading.value is None and reading.reason


@settings(max_examples=100, deadline=None)
@given(_exports(), st.data())
def test_a_garbled_value_in_a_generated_export_is_named_by_row_and_column(
    generated: tuple[str, list[tuple[str, str, list[str]]], int], data: st.DataObject
) -> None:
    text = generated[0]
    export = parse_export(text, "generated.csv")
    row = data.draw(st.sampled_from(export.rows))
    column = data.draw(st.sampled_from([c for c in export.columns if c.kind is not ColumnKind.OTHER]))
    garbage = data.draw(st.sampled_from(["abc", "12a", "1 000", "?", "NaN"]))
    records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    records[row.row - 1][[c.code for c in export.columns].index(column.code)] = garbage
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(records)
    with pytest.raises(ExportError) as caught:
        parse_export(out.getvalue(), "generated.csv")
    assert (caught.value.row, caught.value.column) == (row.row, column.code)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 10**7), min_size=16, max_size=16), min_size=1, max_size=6))
def test_generated_income_tables_keep_their_total_in_the_platforms_bands(counties: list[list[int]]) -> None:
    lines = _lines(INCOME)[:2]
    for n, brackets in enumerate(counties):
        values = [sum(brackets), *brackets]
        fields = [f"0500000US{n:05d}", f"County {n}, Somewhere"] + [str(v) for e in values for v in (e, 7)]
        lines.append(",".join(f'"{v}"' for v in fields) + ",\n")
    baselines = prepare("".join(lines), INCOME.name)
    for region, brackets in zip(baselines.regions, counties, strict=True):
        by_band = {f.band: f.estimate for f in region.figures}
        assert by_band[TOTAL] == sum(brackets)
        assert sum(v for b, v in by_band.items() if b != TOTAL) == sum(brackets)
        assert by_band["under_25000"] == sum(brackets[:4])
        assert {f.band: f.margin for f in region.figures}["25000_49999"] == round(math.sqrt(5 * 49))

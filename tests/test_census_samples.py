"""The Census exports in data/acs/ hold together the way a baseline importer will check them:
income bands add up to their total, and two tables agree on the households of each county.

Read with the csv module the way an importer must: a byte-order mark on one file, two header rows
(codes, then labels), every number a quoted string, a trailing comma (an empty last column)."""

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

ACS = Path(__file__).resolve().parent.parent / "data" / "acs"
INCOME = ACS / "ACSDT5Y2024.B19001-Data.target-counties.csv"
TENURE = ACS / "ACSDT5Y2024.B25003-Data.target-counties.csv"

COUNTIES = {
    # The nine Bay Area counties
    "06001", "06013", "06041", "06055", "06075", "06081", "06085", "06095", "06097",
    "18097",  # Marion County, Indiana (Indianapolis)
    "36005", "36047", "36061", "36081", "36085",  # the five boroughs of New York City
    "41051",  # Multnomah County, Oregon (Portland)
}  # fmt: skip


@dataclass(frozen=True)
class Export:
    labels: dict[str, str]  # variable code -> label path ("Estimate!!Total:!!Owner occupied")
    rows: dict[str, dict[str, str]]  # county FIPS -> variable code -> value as written

    def estimate(self, county: str, code: str) -> int:
        return int(self.rows[county][code])

    def estimates_under(self, parent: str) -> list[str]:
        """The estimate codes one level below the label ``parent`` (e.g. "Estimate!!Total:")."""
        return [
            code
            for code, label in self.labels.items()
            if code.endswith("E") and label.startswith(parent + "!!") and "!!" not in label[len(parent) + 2 :]
        ]


def read_export(path: Path) -> Export:
    with path.open(encoding="utf-8-sig", newline="") as f:  # utf-8-sig drops a byte-order mark
        codes, labels, *records = csv.reader(f)
    width = len(codes)
    if codes[-1] == "":  # the trailing comma: an empty, unnamed last column
        width -= 1
    rows = {}
    for n, record in enumerate(records, start=3):
        if len(record) != len(codes) or any(record[width:]):
            raise ValueError(f"{path.name} line {n}: {len(record)} columns, the header has {len(codes)}")
        values = dict(zip(codes[:width], record[:width], strict=True))
        geo_id = values["GEO_ID"]
        if not geo_id.startswith("0500000US"):
            raise ValueError(f"{path.name} line {n}: {geo_id} is not a county")
        rows[geo_id.removeprefix("0500000US")] = values
    return Export(dict(zip(codes[:width], labels[:width], strict=True)), rows)


@pytest.fixture(scope="module")
def income() -> Export:
    return read_export(INCOME)


@pytest.fixture(scope="module")
def tenure() -> Export:
    return read_export(TENURE)


def test_the_exports_keep_the_quirks_an_importer_must_handle() -> None:
    # If someone "cleans" a file (re-saves it without the BOM, unquotes numbers), the importer's
    # tests lose the input they were written for.
    assert TENURE.read_bytes().startswith(b"\xef\xbb\xbf")
    for path in (INCOME, TENURE):
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
        assert len(lines) == 2 + len(COUNTIES)
        assert all(line.endswith(",") for line in lines)
        assert lines[2].startswith('"0500000US')
    # A label with commas inside its quotes: split on commas, the columns would shift.
    assert '"Estimate!!Total:!!$10,000 to $14,999"' in INCOME.read_text().splitlines()[1]


def test_both_exports_hold_the_same_sixteen_counties(income: Export, tenure: Export) -> None:
    assert set(income.rows) == COUNTIES
    assert set(tenure.rows) == COUNTIES
    assert income.rows["06085"]["NAME"] == "Santa Clara County, California"


def test_the_sixteen_income_bands_add_up_to_the_total_households(income: Export) -> None:
    bands = income.estimates_under("Estimate!!Total:")
    assert len(bands) == 16
    assert income.labels[bands[0]] == "Estimate!!Total:!!Less than $10,000"
    assert income.labels[bands[-1]] == "Estimate!!Total:!!$200,000 or more"
    for county in COUNTIES:
        total = income.estimate(county, "B19001_001E")
        assert total > 0
        assert sum(income.estimate(county, band) for band in bands) == total, county


def test_income_and_tenure_count_the_same_households(income: Export, tenure: Export) -> None:
    for county in COUNTIES:
        assert income.estimate(county, "B19001_001E") == tenure.estimate(county, "B25003_001E"), county


def test_owners_and_renters_add_up_to_the_occupied_units(tenure: Export) -> None:
    owner, renter = tenure.estimates_under("Estimate!!Total:")
    assert tenure.labels[owner].endswith("!!Owner occupied")
    assert tenure.labels[renter].endswith("!!Renter occupied")
    for county in COUNTIES:
        occupied = tenure.estimate(county, "B25003_001E")
        assert tenure.estimate(county, owner) + tenure.estimate(county, renter) == occupied, county


def test_a_row_that_does_not_match_the_header_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text(
        '"GEO_ID","NAME","B25003_001E",\n"Geography","Geographic Area Name","Estimate!!Total:",\n'
        '"0500000US06001","Alameda County, California",\n'
    )
    with pytest.raises(ValueError, match=r"broken\.csv line 3"):
        read_export(broken)

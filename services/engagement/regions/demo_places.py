"""The demo's places and residents, labelled as demo: the equity pilot's cities (New York City,
drawn around its five counties in demo.py; Portland, San José and Indianapolis, each inside its
county), and the 30 cities of the Bay Area manufacturing coalition, each inside its county; then
300 residents spread over them, with names, languages, ZIP codes of their city and tags.

Deterministic: every id is a uuid5 of a fixed name, every name and tag is picked by the
resident's number (no randomness), so loading again finds everyone there. The cities carry no
Census GEO_ID: a place's code we could not check here would make a later import of place tables
fill the wrong city; an import brings them as regions of their own ("Oakland city, California").

Set-based: the places are one statement, the residents one registration of all of them (one
statement per table, their events through the outbox as any registration's); the consent of the
new ones is then confirmed through their links as demo.py confirms its people's, so a loaded demo
holds only what the platform's own paths write. The places reach surveys as any region does
(regions/publishing.py). Loading again writes nothing."""

import uuid
from dataclasses import dataclass
from uuid import UUID

from services.engagement.people import PersonRegistration
from services.engagement.regions import store
from services.engagement.regions.baselines import RegionFigures
from services.engagement.regions.publishing import announcing
from services.engagement.registration import RegistrationRequest, confirm_consent, register_people
from shared.db import DbConnection

_NAMESPACE = uuid.UUID("0b7e6a52-3f1d-4c8e-9d2a-6c5b4a3e2f10")

# The Bay Area's nine counties by their GEO_IDs (data/acs/README.md).
_ALAMEDA, _CONTRA_COSTA, _MARIN = "0500000US06001", "0500000US06013", "0500000US06041"
_NAPA, _SAN_FRANCISCO, _SAN_MATEO = "0500000US06055", "0500000US06075", "0500000US06081"
_SANTA_CLARA, _SOLANO, _SONOMA = "0500000US06085", "0500000US06095", "0500000US06097"

# (name, county GEO_ID, ZIP codes, residents): the coalition's cities, and the pilot's.
CITIES: list[tuple[str, str, tuple[str, ...], int]] = [
    ("Oakland", _ALAMEDA, ("94601", "94602", "94606", "94607", "94610", "94612", "94619", "94621"), 12),
    ("San Francisco", _SAN_FRANCISCO, ("94102", "94103", "94110", "94112", "94117", "94122", "94124"), 12),
    ("San José", _SANTA_CLARA, ("95110", "95112", "95116", "95122", "95123", "95127", "95132"), 12),
    ("Fremont", _ALAMEDA, ("94536", "94538", "94539", "94555"), 7),
    ("Hayward", _ALAMEDA, ("94541", "94542", "94544", "94545"), 7),
    ("Berkeley", _ALAMEDA, ("94702", "94703", "94704", "94705", "94710"), 7),
    ("San Leandro", _ALAMEDA, ("94577", "94578", "94579"), 7),
    ("Union City", _ALAMEDA, ("94587",), 7),
    ("Livermore", _ALAMEDA, ("94550", "94551"), 7),
    ("Pleasanton", _ALAMEDA, ("94566", "94588"), 7),
    ("Richmond", _CONTRA_COSTA, ("94801", "94804", "94805", "94806"), 7),
    ("Concord", _CONTRA_COSTA, ("94518", "94519", "94520", "94521"), 7),
    ("Walnut Creek", _CONTRA_COSTA, ("94595", "94596", "94597", "94598"), 7),
    ("Antioch", _CONTRA_COSTA, ("94509", "94531"), 7),
    ("Novato", _MARIN, ("94945", "94947", "94949"), 7),
    ("San Rafael", _MARIN, ("94901", "94903"), 7),
    ("Napa", _NAPA, ("94558", "94559"), 7),
    ("Redwood City", _SAN_MATEO, ("94061", "94062", "94063", "94065"), 7),
    ("South San Francisco", _SAN_MATEO, ("94080",), 7),
    ("San Mateo", _SAN_MATEO, ("94401", "94402", "94403", "94404"), 7),
    ("Daly City", _SAN_MATEO, ("94014", "94015"), 7),
    ("Sunnyvale", _SANTA_CLARA, ("94085", "94086", "94087", "94089"), 7),
    ("Santa Clara", _SANTA_CLARA, ("95050", "95051", "95054"), 7),
    ("Milpitas", _SANTA_CLARA, ("95035",), 7),
    ("Mountain View", _SANTA_CLARA, ("94040", "94041", "94043"), 7),
    ("Palo Alto", _SANTA_CLARA, ("94301", "94303", "94304", "94306"), 7),
    ("Vallejo", _SOLANO, ("94589", "94590", "94591"), 7),
    ("Fairfield", _SOLANO, ("94533", "94534"), 7),
    ("Santa Rosa", _SONOMA, ("95401", "95403", "95404", "95405", "95407"), 7),
    ("Petaluma", _SONOMA, ("94952", "94954"), 7),
    ("Portland", "0500000US41051", ("97202", "97206", "97211", "97214", "97217", "97220", "97233"), 15),
    ("Indianapolis", "0500000US18097", ("46201", "46203", "46205", "46208", "46218", "46222"), 15),
]
# New York City is demo.py's region around its counties: its residents live in a borough.
BOROUGHS: list[tuple[str, tuple[str, ...], int]] = [
    ("0500000US36005", ("10451", "10452", "10453", "10456", "10458", "10467"), 9),  # the Bronx
    ("0500000US36047", ("11201", "11206", "11211", "11215", "11220", "11226"), 9),  # Brooklyn
    ("0500000US36061", ("10002", "10009", "10013", "10027", "10031", "10032"), 9),  # Manhattan
    ("0500000US36081", ("11354", "11355", "11368", "11372", "11373", "11377"), 9),  # Queens
    ("0500000US36085", ("10301", "10304", "10314"), 9),  # Staten Island
]

# Names as common in these cities as their languages at home: Spanish speakers among the
# Spanish-language names (the platform writes to people in English or Spanish only).
_SPANISH = (
    ["María", "José", "Guadalupe", "Luis", "Ana", "Carlos", "Rosa", "Jorge", "Lucía", "Miguel"],
    ["García", "Hernández", "López", "Martínez", "Ramírez", "Flores", "Torres", "Reyes", "Cruz"],
)
_ENGLISH = (
    [
        "James",
        "Aisha",
        "Wei",
        "Linh",
        "Maria",
        "David",
        "Keisha",
        "Minh",
        "Jasmine",
        "Michael",
        "Priya",
        "Tuan",
        "Grace",
        "Andre",
        "Mei",
        "Joseph",
        "Fatima",
        "Kevin",
        "Rizal",
        "Hannah",
    ],
    [
        "Nguyen",
        "Chen",
        "Smith",
        "Johnson",
        "Santos",
        "Williams",
        "Tran",
        "Kim",
        "Brown",
        "Wong",
        "Jackson",
        "Reyes",
        "Patel",
        "Davis",
        "Le",
        "Cohen",
        "Bautista",
        "Okafor",
        "Lee",
        "Murphy",
    ],
)
_TAGS = ["manufacturing", "housing", "transit", "workforce", "small-business", "youth", "seniors"]


@dataclass(frozen=True)
class Resident:
    id: UUID
    person: PersonRegistration
    region_id: UUID
    tags: tuple[str, ...]


def city_id(name: str) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"region:city:{name}")


def places() -> list[tuple[UUID, str, str, str]]:
    """The cities as regions: (id, kind, name, county's GEO_ID)."""
    return [(city_id(name), "city", f"Demo: {name}", county) for name, county, _, _ in CITIES]


def residents(boroughs: dict[str, UUID]) -> list[Resident]:
    """The residents of every city and borough (``boroughs``: their region ids by GEO_ID)."""
    homes = [(city_id(name), zips, count) for name, _, zips, count in CITIES]
    homes += [(boroughs[geo_id], zips, count) for geo_id, zips, count in BOROUGHS if geo_id in boroughs]
    found = []
    number = 0
    for region_id, zips, count in homes:
        for _ in range(count):
            found.append(_resident(number, region_id, zips[number % len(zips)]))
            number += 1
    return found


def _resident(number: int, region_id: UUID, zip_code: str) -> Resident:
    spanish = number % 3 == 0  # a third, about the Bay Area's share speaking Spanish or bilingual
    given, family = _SPANISH if spanish else _ENGLISH
    # Walks every pairing of given and family name (37 is prime to their products) before any
    # comes again.
    among = number // 3 if spanish else number - number // 3 - 1  # the resident's place in its list
    pair = among * 37 % (len(given) * len(family))
    name = f"{given[pair % len(given)]} {family[pair // len(given)]}"
    email = f"resident-{number:03}@demo.invalid"
    person = PersonRegistration(
        display_name=f"Demo: {name}",
        email=email,
        language="es" if spanish else "en",
        postal_code=zip_code,
        consent_to_contact=number % 4 != 3,  # most agree to be contacted, not all
    )
    tags = tuple(dict.fromkeys((_TAGS[number % len(_TAGS)], _TAGS[number * 5 % 3])))  # 1 or 2
    return Resident(uuid.uuid5(_NAMESPACE, f"resident:{email}"), person, region_id, tags)


def zip_codes() -> list[str]:
    return [code for _, _, zips, _ in CITIES for code in zips] + [
        code for _, zips, _ in BOROUGHS for code in zips
    ]


def zip_geo_id(zip_code: str) -> str:
    return f"860Z200US{zip_code}"


async def _zip_regions(conn: DbConnection, boroughs: dict[str, UUID]) -> list[UUID]:
    """Every city's and borough's ZIP codes as ZIP regions inside it, as an import of ZIP tables
    would bring them: a person, a campaign's audience or a survey's response is placed in a
    city by its ZIP code. Returns their ids."""
    homes = [(city_id(name), zips) for name, _, zips, _ in CITIES]
    homes += [(boroughs[geo_id], zips) for geo_id, zips, _ in BOROUGHS if geo_id in boroughs]
    zip_regions = [
        RegionFigures(row=0, geo_id=zip_geo_id(code), kind="zip", name=f"ZIP {code}", figures=(), left_out=())
        for _, zips in homes
        for code in zips
    ]
    ids, _ = await store.upsert_regions(conn, zip_regions, is_demo=True)
    for place, zips in homes:
        await store.nest(conn, place, [zip_geo_id(code) for code in zips])
    return list(ids.values())


async def load(conn: DbConnection) -> tuple[int, int]:
    """The places and residents not there yet; returns how many of each were new. Needs the
    counties (demo.load_regions imports them first)."""
    async with conn.transaction():
        counties = await store.ids_of(conn, [county for *_, county in places()])
        boroughs = await store.ids_of(conn, [geo_id for geo_id, _, _ in BOROUGHS])
        zips = await store.ids_of(conn, [zip_geo_id(code) for code in zip_codes()])
        described = [*counties.values(), *(place[0] for place in places()), *zips.values()]
        async with announcing(conn, described) as touched:
            new_places = await store.ensure_within(conn, places(), is_demo=True)
            touched.update(await _zip_regions(conn, boroughs))
        found = residents(boroughs)
        registrations = await register_people(
            conn, [RegistrationRequest(r.person, r.id) for r in found], is_demo=True
        )
        new = {r.person_id: r for r in registrations if r.created}
        await store.place_people(conn, [(r.id, r.region_id, r.tags) for r in found if r.id in new])
        for registration in new.values():
            if registration.confirmation_token is not None:
                await confirm_consent(conn, registration.confirmation_token)
    return new_places, len(new)

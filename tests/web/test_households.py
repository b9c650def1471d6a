"""Zones and addresses (admin, gazetteer import, zone lookup) and household records."""
from __future__ import annotations

import io
import time
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from intranet.audit import AuditEntry
from intranet.extensions import db
from intranet.permits import gazetteer, households
from intranet.permits.models import Address, Customer, Permit, Zone, ZoneStreet
from tests.support import fragment_root, csrf_token, hx_get, post_form

HEADER = "uprn,address_line1,address_line2,town,postcode,street,zone\n"


@pytest.fixture
def oxford(app):
    """Two zones with streets and a few gazetteer addresses, one of them excluded."""
    jericho = households.create_zone("test", code="JR", name="Jericho")
    osney = households.create_zone("test", code="OS", name="Osney")
    for street in ("Walton Street", "Cranham Street"):
        households.add_street("test", jericho, street)
    households.add_street("test", osney, "East Street")
    gazetteer.import_addresses("test", HEADER + "\n".join([
        "100120000001,12 Walton Street,,Oxford,OX2 6AE,Walton Street,JR",
        "100120000002,14 Walton Street,,Oxford,OX2 6AE,Walton Street,JR",
        "100120000003,16 Walton Street,,Oxford,OX2 6AE,Walton Street,",
        "100120000004,3 East Street,,Oxford,OX2 0AU,East Street,OS",
        "100120000005,5 Little Clarendon Street,,Oxford,OX1 2HS,Little Clarendon Street,",
    ]) + "\n")
    excluded = db.session.scalar(select(Address).where(Address.uprn == "100120000002"))
    households.set_address_excluded("test", excluded, excluded=True, reason="Car-free development")
    db.session.commit()
    return {"JR": jericho, "OS": osney, "excluded": excluded}


def make_customer(zone: Zone, name="Jane Smith", postcode="OX2 6AE", line1="12 Walton Street", **kwargs) -> Customer:
    customer = households.create_customer("test", name=name, address_line1=line1, town="Oxford", postcode=postcode,
                                          zone=zone, **kwargs)
    db.session.commit()
    return customer


def address_count() -> int:
    return db.session.scalar(select(func.count(Address.id)))


# ---------------------------------------------------------------- gazetteer import

def test_cli_import_with_three_bad_lines_lists_each_and_stores_nothing(app, runner, oxford, tmp_path):
    before = address_count()
    extract = tmp_path / "extract.csv"
    extract.write_text(HEADER + "\n".join([
        "200000000001,1 Walton Street,,Oxford,OX2 6AE,Walton Street,JR",  # line 2 good
        ",2 Walton Street,,Oxford,OX2 6AE,Walton Street,JR",              # line 3: empty uprn
        "200000000003,3 Walton Street,,Oxford,OX2 6AE,Walton Street,JR",  # line 4 good
        "200000000004,4 Walton Street,,Oxford,NOT A PC,Walton Street,JR",  # line 5: bad postcode
        "200000000005,5 Walton Street,,Oxford,OX2 6AE,Walton Street,ZZ",  # line 6: unknown zone
    ]) + "\n")
    result = runner.invoke(args=["addresses", "import", str(extract)])
    assert result.exit_code == 1
    output = result.output
    assert "line 3: the uprn is empty" in output
    assert "line 5: the postcode 'NOT A PC' is not a UK postcode" in output
    assert "line 6: there is no zone with code ZZ" in output
    assert "line 2:" not in output and "line 4:" not in output
    assert "3 problems in the file: nothing was imported" in output
    db.session.rollback()
    assert address_count() == before


def test_cli_import_then_duplicates_then_replace(app, runner, oxford, tmp_path):
    extract = tmp_path / "extract.csv"
    extract.write_text(HEADER + "300000000001,1 Mill Street,,Oxford,ox20ay,Mill Street,os\n"
                                "300000000002,2 Mill Street,Flat A,,OX2 0AY,Mill Street,\n")
    result = runner.invoke(args=["addresses", "import", str(extract)])
    assert result.exit_code == 0, result.output
    assert "2 rows imported: 2 added, 0 replaced" in result.output and "OS: 1" in result.output
    stored = db.session.scalar(select(Address).where(Address.uprn == "300000000001"))
    assert stored.postcode == "OX2 0AY" and stored.zone_id == oxford["OS"].id and stored.street_key == "MILL STREET"

    again = runner.invoke(args=["addresses", "import", str(extract)])
    assert again.exit_code == 1
    assert "line 2: UPRN 300000000001 is already stored (import with replace to update it)" in again.output

    duplicated = tmp_path / "dup.csv"
    duplicated.write_text(HEADER + "400000000001,1 A Road,,,OX2 0AY,A Road,\n400000000001,1 A Road,,,OX2 0AY,A Road,\n")
    dup = runner.invoke(args=["addresses", "import", str(duplicated)])
    assert dup.exit_code == 1 and "line 3: UPRN 400000000001 is already on line 2" in dup.output

    excluded = oxford["excluded"]
    replacement = tmp_path / "replace.csv"
    replacement.write_text(HEADER + f"{excluded.uprn},14 Walton Street,Ground floor,Oxford,OX2 6AE,Walton Street,JR\n"
                                    "300000000003,3 Mill Street,,Oxford,OX2 0AY,Mill Street,OS\n")
    replaced = runner.invoke(args=["addresses", "import", str(replacement), "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "2 rows imported: 1 added, 1 replaced" in replaced.output
    db.session.expire_all()
    kept = db.session.get(Address, excluded.id)
    assert kept.line2 == "Ground floor" and kept.excluded and kept.exclusion_reason == "Car-free development"


def test_missing_columns_are_named_from_the_header(app, oxford):
    with pytest.raises(gazetteer.GazetteerRejected) as rejected:
        gazetteer.import_addresses("test", "uprn,address_line1,postcode\n1,1 A Road,OX2 0AY\n")
    assert [str(p) for p in rejected.value.problems] == ["line 1: The header has no street column",
                                                         "line 1: The header has no zone column"]


def test_import_of_many_rows_is_fast(app):
    rows = [f"{500000000000 + i},{i} Long Road,,Oxford,OX4 {1 + i % 9}AB,Long Road," for i in range(20_000)]
    started = time.perf_counter()
    summary, _ = gazetteer.import_addresses("test", HEADER + "\n".join(rows))
    db.session.commit()
    elapsed = time.perf_counter() - started
    assert summary.added == 20_000 and address_count() == 20_000
    assert elapsed < 5, f"20,000 rows took {elapsed:.1f}s"


def test_import_page_rejects_a_bad_file_then_imports_a_good_one(client, login, oxford):
    login("service_manager")
    before = address_count()
    bad = HEADER + "600000000001,1 Mill Street,,,OX2 0AY,Mill Street,OS\n,2 Mill Street,,,nope,Mill Street,XX\n"
    response = client.post("/addresses/import", data={"file": (io.BytesIO(bad.encode()), "extract.csv"),
                                                      "csrf_token": csrf_token(client, "/addresses/import")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<title>Error: Import the address gazetteer" in html
    assert "1 problem in the file: nothing was imported" in html
    assert "the uprn is empty; the postcode &#39;nope&#39; is not a UK postcode; there is no zone with code XX" in html
    assert address_count() == before

    good = "\ufeff" + HEADER + "600000000001,1 Mill Street,,,OX2 0AY,Mill Street,OS\n600000000002,2 Mill Street,,,OX2 0AY,Mill Street,\n"
    response = client.post("/addresses/import", data={"file": (io.BytesIO(good.encode()), "extract.csv"),
                                                      "csrf_token": csrf_token(client, "/addresses/import")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    summary = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 addresses imported: 2 added, 0 replaced" in summary and "(no zone)" in summary
    assert address_count() == before + 2
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "addresses_imported")
                              .order_by(AuditEntry.id.desc()))
    assert entry.after["added"] == 2 and entry.after["source"] == "extract.csv"


def test_import_page_without_a_file_names_the_field(client, login):
    login("admin")
    html = post_form(client, "/addresses/import", {}).get_data(as_text=True)
    assert "Select a CSV file" in html and "<title>Error:" in html


# ---------------------------------------------------------------- zone lookup

def test_lookup_answers_and_refusals(client, login, oxford):
    login("advisor")
    by_street = client.get("/zones/lookup?street=cranham+street").get_data(as_text=True)
    assert "Zone JR Jericho" in by_street and "<html" in by_street

    fragment = hx_get(client, "/zones/lookup?postcode=ox20au")
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="lookup-result"') and "<html" not in html
    assert "Zone OS Osney" in html and "3 East Street" in html
    assert "HX-Request" in fragment.headers.get("Vary", "")

    nowhere = hx_get(client, "/zones/lookup?postcode=OX1+2HS").get_data(as_text=True)
    assert "Not in a zone" in nowhere and "OX1 2HS is not in any controlled parking zone" in nowhere

    unknown = hx_get(client, "/zones/lookup?postcode=OX9+9ZZ").get_data(as_text=True)
    assert "OX9 9ZZ is not in any controlled parking zone" in unknown

    excluded = oxford["excluded"]
    warned = hx_get(client, "/zones/lookup?postcode=OX2+6AE").get_data(as_text=True)
    assert "Zone JR Jericho" in warned and "1 address at OX2 6AE is excluded" in warned
    picked = hx_get(client, f"/zones/lookup?postcode=OX2+6AE&uprn={excluded.uprn}").get_data(as_text=True)
    assert "is excluded from the permit scheme: Car-free development" in picked and "Not in a zone" in picked

    half_typed = hx_get(client, "/zones/lookup?postcode=OX2").get_data(as_text=True)
    assert "Enter the full postcode" in half_typed and "Not in a zone" not in half_typed


def test_street_without_zone_in_gazetteer_takes_the_street_zone(client, login, oxford):
    assert households.find_zone(uprn="100120000003").zone.code == "JR"
    rows = {row.zone.code: row for row in households.zone_summaries()}
    assert (rows["JR"].streets, rows["JR"].addresses, rows["JR"].excluded) == (2, 3, 1)
    login("team_leader")
    page = client.get(f"/zones/{oxford['JR'].id}").get_data(as_text=True)
    assert "16 Walton Street" in page  # no zone in the gazetteer: listed under its street's zone


# ---------------------------------------------------------------- zones admin

def test_zone_list_and_page_for_viewers(client, login, oxford):
    login("team_leader")
    html = client.get("/zones").get_data(as_text=True)
    assert "JR Jericho" in html and "OS Osney" in html and "Add a zone" not in html
    page = client.get(f"/zones/{oxford['JR'].id}").get_data(as_text=True)
    assert "Walton Street" in page and "Car-free development" in page and "Add street" not in page
    fragment = hx_get(client, f"/zones/{oxford['JR'].id}?q=OX2 6AE").get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="zone-addresses"') and "12 Walton Street" in fragment
    assert client.get("/zones/new").status_code == 403
    assert post_form(client, f"/zones/{oxford['JR'].id}/streets", {"street": "Juxon Street"}).status_code == 403


def test_create_and_edit_zone(client, login, oxford):
    admin = login("admin")
    bad = post_form(client, "/zones/new", {"code": "jr", "name": "Jericho again"}, htmx=True)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and fragment_root(html).startswith('<div id="zone-form"')
    assert "Zone code JR is already used by Jericho" in html and 'value="Jericho again"' in html
    assert "Enter the zone name" in post_form(client, "/zones/new", {"code": "HE"}).get_data(as_text=True)
    good = post_form(client, "/zones/new", {"code": " he ", "name": "Headington", "active": "y"})
    assert good.status_code == 303
    zone = db.session.scalar(select(Zone).where(Zone.code == "HE"))
    assert zone.name == "Headington" and zone.active
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "zone_created",
                                                       AuditEntry.subject_id == str(zone.id)))
    assert entry.actor_id == admin.id

    edited = post_form(client, f"/zones/{zone.id}/edit", {"code": "HE", "name": "Headington Central"})
    assert edited.status_code == 303
    db.session.expire_all()
    zone = db.session.get(Zone, zone.id)
    assert zone.name == "Headington Central" and zone.active is False
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "zone_updated"))
    assert entry.before["active"] is True and entry.after["active"] is False


def test_streets_unique_across_zones(client, login, oxford):
    login("service_manager")
    jr, os_ = oxford["JR"], oxford["OS"]
    refused = post_form(client, f"/zones/{os_.id}/streets", {"street": "walton  street"}, htmx=True)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and fragment_root(html).startswith('<div id="street-form"')
    assert "Walton Street is already in zone JR Jericho" in html and 'value="walton  street"' in html
    full = post_form(client, f"/zones/{os_.id}/streets", {"street": ""}).get_data(as_text=True)
    assert "<title>Error: Zone OS Osney" in full and "Enter the street name" in full
    assert db.session.scalar(select(func.count(ZoneStreet.id)).where(ZoneStreet.zone_id == os_.id)) == 1

    added = post_form(client, f"/zones/{os_.id}/streets", {"street": "Bridge Street"})
    assert added.status_code == 303
    street = db.session.scalar(select(ZoneStreet).where(ZoneStreet.street_key == "BRIDGE STREET"))
    assert street.zone_id == os_.id
    street_id = street.id
    removed = post_form(client, f"/zones/{os_.id}/streets/{street_id}/remove")
    assert removed.status_code == 303
    assert db.session.scalar(select(ZoneStreet).where(ZoneStreet.street_key == "BRIDGE STREET")) is None
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "zone",
                                                                 AuditEntry.subject_id == str(os_.id))).all()
    assert "zone_street_added" in actions and "zone_street_removed" in actions
    assert post_form(client, f"/zones/{jr.id}/streets/{street_id}/remove").status_code == 404


def test_exclude_and_include_an_address(client, login, oxford):
    login("admin")
    address = db.session.scalar(select(Address).where(Address.uprn == "100120000001"))
    page = client.get(f"/addresses/{address.id}").get_data(as_text=True)
    assert "In zone JR Jericho" in page and "Exclude from the scheme" in page
    refused = post_form(client, f"/addresses/{address.id}/exclusion", {"action": "exclude", "reason": " "}, htmx=True)
    html = refused.get_data(as_text=True)
    assert fragment_root(html).startswith('<div id="exclusion-form"') and "Enter why the address is excluded" in html
    db.session.expire_all()
    assert db.session.get(Address, address.id).excluded is False

    assert post_form(client, f"/addresses/{address.id}/exclusion",
                     {"action": "exclude", "reason": "Business premises"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Address, address.id).exclusion_reason == "Business premises"
    assert "excluded from the permit scheme: Business premises" in households.find_zone(uprn=address.uprn).reason
    assert post_form(client, f"/addresses/{address.id}/exclusion", {"action": "include"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Address, address.id).excluded is False
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "address",
                                                                              AuditEntry.subject_id == str(address.id)))]
    assert actions == ["address_excluded", "address_included"]


# ---------------------------------------------------------------- households

def _permit(customer: Customer, number: str, vrm: str, status="active") -> Permit:
    permit = Permit(number=number, kind="resident", zone_id=customer.zone_id, vrm=vrm, customer_id=customer.id,
                    valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31), issued_at=datetime.now(timezone.utc),
                    status=status)
    db.session.add(permit)
    db.session.commit()
    return permit


@pytest.mark.parametrize("query", ["jane sm", "OX26AE", "{reference}", "R0000042", "ab12 cde"])
def test_customer_search_by_each_key(client, login, oxford, query):
    jane = make_customer(oxford["JR"])
    make_customer(oxford["OS"], name="Omar Osney", postcode="OX2 0AU", line1="3 East Street")
    _permit(jane, "R0000042", "AB12CDE")
    login("advisor")
    url = "/customers?q=" + query.format(reference=jane.reference.lower())
    fragment = hx_get(client, url)
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="customer-results"') and "<html" not in html
    assert "Jane Smith" in html and "Omar Osney" not in html and "JR Jericho" in html
    page = client.get(url).get_data(as_text=True)
    assert "<html" in page and "Jane Smith" in page


def test_customer_search_empty_and_no_match(client, login, oxford):
    login("team_leader")
    assert "Enter a name, postcode" in client.get("/customers").get_data(as_text=True)
    assert "No household matches" in hx_get(client, "/customers?q=nobody").get_data(as_text=True)


def test_customer_record_shows_permits_active_first_and_allowance(client, login, oxford):
    jane = make_customer(oxford["JR"])
    _permit(jane, "R0000001", "AB12CDE", status="cancelled")
    _permit(jane, "R0000002", "XY12ZZZ")
    login("service_lead")
    html = client.get(f"/customers/{jane.id}").get_data(as_text=True)
    assert "Jane Smith" in html and "JR Jericho" in html
    assert html.index("R0000002") < html.index("R0000001")
    assert "Visitor permits this year" in html and "0 of 50" in html
    assert f"Created household record {jane.reference}" in html
    assert client.get("/customers/999999").status_code == 404


@pytest.mark.parametrize("role", ["director", "parking_team", "admin"])
def test_personal_data_is_refused_to_other_roles(client, login, oxford, role):
    jane = make_customer(oxford["JR"])
    login(role)
    for url in ("/customers", f"/customers/{jane.id}", "/customers/new", f"/customers/{jane.id}/edit"):
        assert client.get(url).status_code == 403, url


def test_advisor_cannot_manage_zones(client, login, oxford):
    login("advisor")
    assert client.get("/zones").status_code == 403
    assert client.get("/addresses/import").status_code == 403
    assert client.get("/zones/lookup").status_code == 200


def test_new_household_refuses_an_address_in_no_zone(client, login, oxford):
    login("advisor")
    before = db.session.scalar(select(func.count(Customer.id)))
    response = post_form(client, "/customers/new", {
        "name": "Pat Nowhere", "postcode": "OX1 2HS", "address_line1": "5 Little Clarendon Street",
        "preferred_channel": "post"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment_root(html).startswith('<div id="customer-form"')
    assert "is not in any controlled parking zone: a permit can only be issued for an address in a zone" in html
    assert 'value="Pat Nowhere"' in html
    excluded = post_form(client, "/customers/new", {
        "name": "Ex Cluded", "postcode": "OX2 6AE", "address_line1": "14 Walton Street", "preferred_channel": "post"})
    assert "excluded from the permit scheme: Car-free development" in excluded.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Customer.id))) == before


def test_new_household_field_problems(client, login, oxford):
    login("advisor")
    html = post_form(client, "/customers/new", {"name": "", "postcode": "nope", "email": "bad",
                                               "preferred_channel": "email", "phone": "call me"}).get_data(as_text=True)
    for message in ("Enter the customer&#39;s full name", "Enter a real postcode, like OX2 6DE",
                    "Enter an email address in the correct format", "Phone number must only include numbers"):
        assert message in html, message
    assert "<title>Error: Add a household" in html
    html = post_form(client, "/customers/new", {"name": "Em Ail", "postcode": "OX2 6AE",
                                               "address_line1": "12 Walton Street",
                                               "preferred_channel": "email"}).get_data(as_text=True)
    assert "Enter an email address: the preferred contact channel is email" in html


def test_find_addresses_then_choose_one_and_return_to_next(client, login, oxford):
    advisor = login("advisor")
    found = post_form(client, "/customers/new?next=/applications/new", {
        "name": "Jo Walton", "postcode": "ox2 6ae", "find": "Find addresses", "next": "/applications/new?kind=resident"},
        htmx=True).get_data(as_text=True)
    assert "12 Walton Street, Oxford, OX2 6AE" in found and "(excluded from the scheme)" in found
    assert "Zone JR" in found
    saved = post_form(client, "/customers/new", {
        "name": "Jo Walton", "postcode": "OX2 6AE", "uprn": "100120000001", "email": "jo@example.org",
        "preferred_channel": "email", "next": "/applications/new?kind=resident"})
    assert saved.status_code == 303
    customer = db.session.scalar(select(Customer).where(Customer.name == "Jo Walton"))
    assert saved.headers["Location"] == f"/applications/new?kind=resident&customer_id={customer.id}"
    assert customer.address_line1 == "12 Walton Street" and customer.zone_id == oxford["JR"].id
    assert customer.address.uprn == "100120000001" and customer.reference.startswith("C")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer_created"))
    assert entry.actor_id == advisor.id


def test_typed_address_finds_its_zone_and_unsafe_next_is_ignored(client, login, oxford):
    login("team_leader")
    get = client.get("/customers/new?next=https://evil.example/x").get_data(as_text=True)
    assert "evil.example" not in get
    saved = post_form(client, "/customers/new", {
        "name": "Flat Dweller", "postcode": "OX2 0AU", "address_line1": "Flat 2, 9 East Street",
        "preferred_channel": "post", "next": "//evil.example/x"})
    assert saved.status_code == 303 and saved.headers["Location"].startswith("/customers/")
    customer = db.session.scalar(select(Customer).where(Customer.name == "Flat Dweller"))
    assert customer.zone_id == oxford["OS"].id and customer.address_id is None


def test_edit_household_moves_zone_or_refuses(client, login, oxford):
    jane = make_customer(oxford["JR"])
    login("advisor")
    form = client.get(f"/customers/{jane.id}/edit").get_data(as_text=True)
    assert 'value="Jane Smith"' in form
    refused = post_form(client, f"/customers/{jane.id}/edit", {
        "name": "Jane Smith", "postcode": "OX9 9ZZ", "address_line1": "1 Far Away Lane", "preferred_channel": "post"})
    assert "OX9 9ZZ is not in any controlled parking zone" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Customer, jane.id).postcode == "OX2 6AE"
    moved = post_form(client, f"/customers/{jane.id}/edit", {
        "name": "Jane Smith", "postcode": "OX2 0AU", "address_line1": "3 East Street", "preferred_channel": "phone",
        "phone": "01865 000000"})
    assert moved.status_code == 303
    db.session.expire_all()
    jane = db.session.get(Customer, jane.id)
    assert jane.zone_id == oxford["OS"].id and jane.preferred_channel == "phone"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer_updated"))
    assert entry.before["zone_id"] == oxford["JR"].id and entry.after["zone_id"] == oxford["OS"].id
    assert "moved to zone OS" in entry.summary


def test_street_from_line():
    assert households.street_from_line("12 Walton Street") == "Walton Street"
    assert households.street_from_line("Flat 2, 14a Kingston Road") == "Kingston Road"
    assert households.street_from_line("12-14 High Street") == "High Street"
    assert households.street_from_line("Flat 3") == ""


def test_demo_zones(app):
    import random

    from intranet.permits.demo_households import load_household_demo

    zones = load_household_demo(random.Random(1))
    db.session.commit()
    assert [z.code for z in zones] == ["JR", "SC", "HE", "CW", "IF", "OS"]
    assert address_count() == 240
    assert db.session.scalar(select(func.count(Address.id)).where(Address.excluded.is_(True))) == 2
    assert load_household_demo(random.Random(2)) and address_count() == 240
    some = db.session.scalar(select(Address).where(Address.zone_id.is_(None)).limit(1))
    if some is not None:
        assert households.find_zone(uprn=some.uprn).zone is not None

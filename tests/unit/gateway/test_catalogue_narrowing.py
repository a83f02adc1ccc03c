"""The catalogue narrowing rule (shared.directory.routing): pure, on a small tree with the awkward cases."""

from __future__ import annotations

import pytest

from shared.directory.routing import (
    NotASubService,
    ServiceNode,
    UnknownService,
    allowed_groups,
    narrow_catalogue,
)

TREE = {n.id: n for n in [
    ServiceNode(id="air", group_ids=["first-travel"]),
    ServiceNode(id="air-exchange", parent_id="air", group_ids=["first-travel", "second-travel"]),
    ServiceNode(id="air-baggage", parent_id="air"),  # no groups of its own: inherits air's
    ServiceNode(id="air-baggage-lost", parent_id="air-baggage"),  # two levels down: still air's
    ServiceNode(id="rail", group_ids=["first-rail"]),
    ServiceNode(id="rail-refund", parent_id="rail", group_ids=["second-rail"]),
    ServiceNode(id="hotel"),  # no groups anywhere up the chain
    ServiceNode(id="hotel-booking", parent_id="hotel"),
    ServiceNode(id="loop-a", parent_id="loop-b", group_ids=[]),  # a cycle an admin could save
    ServiceNode(id="loop-b", parent_id="loop-a"),
    ServiceNode(id="self", parent_id="self", group_ids=["g-self"]),
]}


def ids(choice_nodes: list[ServiceNode]) -> list[str]:
    return [n.id for n in choice_nodes]


def test_nothing_picked_offers_the_top_level_services_and_no_groups() -> None:
    choice = narrow_catalogue(TREE)
    assert ids(choice.sub_services) == ["air", "hotel", "rail"] and choice.group_ids == []


def test_a_service_narrows_the_sub_services_to_its_children_by_id() -> None:
    choice = narrow_catalogue(TREE, "air")
    assert ids(choice.sub_services) == ["air-baggage", "air-exchange"]  # not the grandchild
    assert choice.group_ids == ["first-travel"]  # the service's own groups until a sub-service is picked
    assert ids(narrow_catalogue(TREE, "air-baggage").sub_services) == ["air-baggage-lost"]


def test_a_sub_service_narrows_the_groups_inheriting_from_the_nearest_ancestor_with_groups() -> None:
    assert narrow_catalogue(TREE, "air", "air-exchange").group_ids == ["first-travel", "second-travel"]
    assert narrow_catalogue(TREE, "air", "air-baggage").group_ids == ["first-travel"]
    assert narrow_catalogue(TREE, "air", "air-baggage-lost").group_ids == ["first-travel"]  # any depth below
    assert narrow_catalogue(TREE, "rail", "rail-refund").group_ids == ["second-rail"]  # its own win over rail's
    assert narrow_catalogue(TREE, "hotel", "hotel-booking").group_ids == []
    # the sub-services list stays the service's, so the picker keeps showing the siblings
    assert ids(narrow_catalogue(TREE, "air", "air-exchange").sub_services) == ["air-baggage", "air-exchange"]
    assert narrow_catalogue(TREE, sub_service_id="rail-refund").group_ids == ["second-rail"]


def test_a_sub_service_of_another_service_or_an_unknown_id_is_refused() -> None:
    with pytest.raises(NotASubService):
        narrow_catalogue(TREE, "rail", "air-exchange")
    with pytest.raises(NotASubService):
        narrow_catalogue(TREE, "air", "air")  # a service is not its own sub-service
    with pytest.raises(UnknownService):
        narrow_catalogue(TREE, "spaceflight")
    with pytest.raises(UnknownService):
        narrow_catalogue(TREE, "air", "air-nope")


def test_cycles_in_admin_edited_data_end_instead_of_looping() -> None:
    assert allowed_groups(TREE, "loop-a") == []
    assert ids(narrow_catalogue(TREE, "loop-a").sub_services) == ["loop-b"]
    assert narrow_catalogue(TREE, "self").sub_services == [] and allowed_groups(TREE, "self") == ["g-self"]
    assert allowed_groups(TREE, "missing") == []

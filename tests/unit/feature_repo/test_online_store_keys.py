"""Entity-key bytes built from a cached layout equal Feast's ``serialize_entity_key`` (the stored keys)."""

from __future__ import annotations

import pytest
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value

from feature_repo.online_store import entity_key_bytes, key_layout, string_key_bytes

KEYS = [
    {"user_id": "user-1"},
    {"tip_id": ""},
    {"user_id": "Zoë 🚀", "category": "home"},  # given unsorted: category sorts first
    {"category": "work", "user_id": "u"},
    {"user_id": "u-9", "tip_id": "tip-3"},
    {"b": "1", "c": "2", "a": "3"},
]


def proto(key: dict[str, str]) -> EntityKey:
    return EntityKey(join_keys=list(key), entity_values=[Value(string_val=v) for v in key.values()])


@pytest.mark.parametrize("key", KEYS, ids=lambda k: ",".join(k))
def test_string_keys_serialize_as_feast_does(key: dict[str, str]) -> None:
    expected = serialize_entity_key(proto(key), entity_key_serialization_version=3)
    assert string_key_bytes(key_layout(tuple(key)), list(key.values())) == expected
    assert entity_key_bytes(proto(key), 3) == expected


def test_other_values_and_versions_go_through_feasts_serializer() -> None:
    key = EntityKey(join_keys=["user_id", "n"], entity_values=[Value(string_val="u"), Value(int64_val=7)])
    assert entity_key_bytes(key, 3) == serialize_entity_key(key, entity_key_serialization_version=3)
    with pytest.warns(UserWarning):  # Feast warns about version 2 and still serializes it
        assert entity_key_bytes(proto(KEYS[2]), 2) == serialize_entity_key(
            proto(KEYS[2]), entity_key_serialization_version=2
        )

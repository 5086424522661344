"""The durable package's lazy names: the Redis store, its claim and the worker load their
module (and so the ``redis`` package) on first use, as the package docstring says."""

from __future__ import annotations

import importlib

import pytest

import letta_async.durable as durable


@pytest.mark.parametrize(
    ("name", "module"),
    [("RedisCursorStore", "_redis"), ("Claim", "_redis"), ("Worker", "_worker")],
)
def test_a_lazy_name_is_loaded_on_first_use_and_kept(
    name: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(vars(durable), name, raising=False)  # as in a fresh process
    value = getattr(durable, name)
    assert value is getattr(importlib.import_module(f"letta_async.durable.{module}"), name)
    assert vars(durable)[name] is value  # the next use is a plain attribute


def test_an_unknown_name_is_an_attribute_error_that_names_it() -> None:
    with pytest.raises(AttributeError) as caught:
        _ = durable.RedisStore  # type: ignore[attr-defined]
    assert str(caught.value) == "module 'letta_async.durable' has no attribute 'RedisStore'"
    assert not hasattr(durable, "Nope")

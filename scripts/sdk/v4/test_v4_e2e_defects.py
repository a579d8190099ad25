"""The Langfuse Python SDK's own end-to-end scenarios (langfuse-python tests/e2e) that failed
against Parley before issue #20, through the real SDK (langfuse 4.18.0: OTLP export and its
API client): a trace name set with propagate_attributes under the root, the root span's
metadata on the trace, the traces list's JSON `filter`, model parameters and usage details as
sent, inferred costs, and the models API. One server and one SDK client for the module (the SDK
keeps one client per public key in a process)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from langfuse import Langfuse, propagate_attributes
from langfuse.api.core.api_error import ApiError

from parleykit.server import Parley

PUBLIC_KEY, SECRET_KEY = "pk-lf-e2e", "sk-lf-e2e"


@pytest.fixture(scope="module")
def client(parley_bin, langfuse_parity_args, tmp_path_factory):
    with Parley(parley_bin, tmp_path_factory.mktemp("e2e") / "parley.sqlite", langfuse_parity_args,
                keys=(PUBLIC_KEY, SECRET_KEY)) as server:
        langfuse = Langfuse(public_key=PUBLIC_KEY, secret_key=SECRET_KEY, base_url=server.url, flush_at=1)
        try:
            yield langfuse
        finally:
            langfuse.shutdown()


def fetch_trace(langfuse: Langfuse, trace_id: str, observations: int = 1):
    """The trace once its observations arrived (the SDK exports in the background)."""
    langfuse.flush()
    deadline = time.monotonic() + 15
    while True:
        try:
            trace = langfuse.api.trace.get(trace_id)
            if len(trace.observations) >= observations:
                return trace
        except ApiError:
            pass
        assert time.monotonic() < deadline, f"trace {trace_id} did not arrive"
        time.sleep(0.2)


def test_trace_name_set_under_the_root_wins(client):
    name = str(uuid.uuid4())
    with client.start_as_current_observation(name="root-span") as root:
        with propagate_attributes(trace_name=name):
            client.start_observation(as_type="generation", name="child").end()
        trace_id = root.trace_id
    assert fetch_trace(client, trace_id, 2).name == name


def test_root_span_metadata_is_the_traces(client):
    span = client.start_observation(name="span", metadata={"interface": "whatsapp"})
    span.end()
    trace = fetch_trace(client, span.trace_id)
    assert trace.metadata["interface"] == "whatsapp"


def test_traces_filter_is_applied_and_an_unsupported_one_refused(client):
    name = str(uuid.uuid4())
    with client.start_as_current_observation(name="a"):
        with propagate_attributes(trace_name=name, user_id="filter-user"):
            pass
    with client.start_as_current_observation(name="b") as other:
        pass
    fetch_trace(client, other.trace_id)
    deadline = time.monotonic() + 15
    while True:
        found = client.api.trace.list(filter=json.dumps([{"type": "string", "column": "name", "operator": "=", "value": name}]))
        if found.data or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [t.name for t in found.data] == [name]
    by_user = client.api.trace.list(filter=json.dumps([{"type": "stringOptions", "column": "userId", "operator": "any of",
                                                        "value": ["filter-user"]}]))
    assert [t.name for t in by_user.data] == [name]
    with pytest.raises(ApiError) as refused:
        client.api.trace.list(filter=json.dumps([{"type": "boolean", "column": "bookmarked", "operator": "=", "value": True}]))
    assert refused.value.status_code == 400 and "bookmarked" in str(refused.value.body)


def test_model_parameters_come_back_as_strings(client):
    generation = client.start_observation(as_type="generation", name="params", model="gpt-3.5-turbo-0125",
                                          model_parameters={"max_tokens": "1000", "temperature": "0.9", "stop": ["user-1", "user-2"]})
    generation.end()
    observation = fetch_trace(client, generation.trace_id).observations[0]
    assert observation.model_parameters == {"max_tokens": "1000", "temperature": "0.9", "stop": '["user-1","user-2"]'}


def test_usage_details_keep_the_clients_keys_and_get_a_total(client):
    generation = client.start_observation(as_type="generation", name="usage")
    generation.update(usage_details={"prompt_tokens": 100, "completion_tokens": 200})
    generation.end()
    observation = fetch_trace(client, generation.trace_id).observations[0]
    assert observation.usage_details == {"prompt_tokens": 100, "completion_tokens": 200, "total": 300}
    # OpenAI's own usage object (all three counts) still maps to input/output/total.
    mapped = client.start_observation(as_type="generation", name="openai-usage")
    mapped.update(usage_details={"prompt_tokens": 100, "completion_tokens": 200, "total_tokens": 500})
    mapped.end()
    usage = fetch_trace(client, mapped.trace_id).observations[0].usage
    assert (usage.input, usage.output, usage.total) == (100, 200, 500)


def test_cost_is_inferred_from_the_model_price(client):
    generation = client.start_observation(as_type="generation", name="priced", model="gpt-4o-mini",
                                          usage_details={"input": 1000, "output": 100})
    generation.end()
    observation = fetch_trace(client, generation.trace_id).observations[0]
    # Langfuse's table: gpt-4o-mini input 1.5e-7, output 6e-7 USD per token.
    assert observation.calculated_input_cost == pytest.approx(1.5e-4)
    assert observation.calculated_output_cost == pytest.approx(6e-5)
    assert observation.calculated_total_cost == pytest.approx(2.1e-4)


def test_a_project_model_prices_its_fine_tune(client):
    model = client.api.models.create(model_name="acme-ft", match_pattern="(?i)^ft:gpt-4o-mini:acme:.+$", unit="TOKENS",
                                     input_price=1e-6, output_price=2e-6)
    assert model.is_langfuse_managed is False
    assert client.api.models.get(model.id).match_pattern == "(?i)^ft:gpt-4o-mini:acme:.+$"
    assert any(m.id == model.id for m in client.api.models.list(limit=100).data)
    generation = client.start_observation(as_type="generation", name="ft", model="ft:gpt-4o-mini:acme:abc123",
                                          usage_details={"input": 10, "output": 5})
    generation.end()
    observation = fetch_trace(client, generation.trace_id).observations[0]
    assert observation.calculated_total_cost == pytest.approx(2e-5)
    client.api.models.delete(model.id)
    with pytest.raises(ApiError) as gone:
        client.api.models.get(model.id)
    assert gone.value.status_code == 404

"""The official `openai` SDK against Sluice, exactly as an application uses it after
changing only its base URL."""
import openai
import pytest
from openai import OpenAI


@pytest.fixture
def client(gateway):
    return OpenAI(base_url=gateway, api_key="sk-client-anything", max_retries=0, timeout=20)


def test_non_streaming(client):
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello gateway"}],
        max_tokens=50,
        seed=7,
    )
    assert raw.headers["x-sluice-route"] == "small"
    assert raw.headers["x-sluice-reason"] == "policy auto: static target small"
    resp = raw.parse()
    assert resp.choices[0].message.content.startswith("This is a mock answer to: hello gateway")
    assert resp.choices[0].finish_reason == "stop"
    # The upstream's model name comes back unchanged.
    assert resp.model == "small-2024"
    assert resp.usage.prompt_tokens == 3 + 2 + 3 + 2
    assert resp.usage.completion_tokens == 8


def test_streaming_with_usage(client):
    stream = client.chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "stream this"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"mock": {"words": 5, "chunk_delay_ms": 5}},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text == "lorem ipsum dolor sit amet "
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == 5


def test_max_tokens_and_tools_pass_through(client):
    resp = client.chat.completions.create(
        model="big",
        messages=[{"role": "user", "content": "one two three four five"}],
        max_completion_tokens=3,
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
        tool_choice="auto",
    )
    assert resp.choices[0].finish_reason == "length"
    assert resp.model == "big-2024"


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["auto", "big", "claude", "small", "smol", "all-MiniLM-L6-v2"]


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-99", messages=[{"role": "user", "content": "x"}])
    assert e.value.code == "model_not_found"
    assert e.value.status_code == 404


def test_bad_request_names_the_parameter(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": 5}])
    assert e.value.param == "messages[0].content"


def test_upstream_rate_limit_surfaces_as_rate_limit_error(client):
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="small",
            messages=[{"role": "user", "content": "x"}],
            extra_body={"mock": {"script": ["status:429"], "retry_after": "0"}},
        )


def test_fallback_is_invisible_to_the_sdk(client):
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "user", "content": "x"}],
        extra_body={"mock": {"key": "py-fb", "script": ["status:500", "status:500", "ok"]}},
    )
    assert raw.headers["x-sluice-route"] == "big"
    assert raw.parse().model == "big-2024"


def test_interrupted_stream_raises(client):
    stream = client.chat.completions.create(
        model="small",
        messages=[{"role": "user", "content": "a b c d e f"}],
        stream=True,
        extra_body={"mock": {"script": ["break:2"]}},
    )
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert "upstream stream failed" in str(e.value)


def test_local_model_round_trip(client):
    """The in-process SmolLM2 through the SDK: a real greedy answer, streamed and not."""
    question = [{"role": "user", "content": "What is the capital of France?"}]
    raw = client.chat.completions.with_raw_response.create(
        model="smol", messages=question, max_tokens=24, temperature=0
    )
    assert raw.headers["x-sluice-route"] == "smol"
    resp = raw.parse()
    assert resp.choices[0].message.content == "The capital of France is Paris."
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens == 37
    assert resp.usage.completion_tokens == 7
    stream = client.chat.completions.create(
        model="smol", messages=question, max_tokens=24, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert text == "The capital of France is Paris."
    assert usage.completion_tokens == 7

"""The official `anthropic` SDK against `/v1/messages` and the `openai` SDK's Responses API
against `/v1/responses`, streamed and not, against an OpenAI-compatible mock (`small`), an
Anthropic mock (`claude`, a `kind: anthropic` provider) and the in-process SmolLM2 (`smol`)."""
import anthropic
import pytest
from openai import OpenAI

MOCK = "This is a mock answer to: "
FRANCE = "What is the capital of France?"


@pytest.fixture
def claude_client(gateway):
    # The Anthropic SDK appends /v1/messages to its base URL itself.
    return anthropic.Anthropic(base_url=gateway.removesuffix("/v1"), api_key="sk-any",
                               max_retries=0, timeout=30)


@pytest.fixture
def openai_client(gateway):
    return OpenAI(base_url=gateway, api_key="sk-any", max_retries=0, timeout=30)


@pytest.mark.parametrize("model", ["small", "claude"])
def test_messages_against_mocks(claude_client, model):
    raw = claude_client.messages.with_raw_response.create(
        model=model, max_tokens=64, system="Be brief.",
        messages=[{"role": "user", "content": "hello anthropic"}],
    )
    assert raw.headers["x-sluice-route"] == model
    msg = raw.parse()
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text"
    assert msg.content[0].text == MOCK + "hello anthropic "
    assert msg.stop_reason == "end_turn"
    # 3 per message plus words: system (2) and user (2).
    assert msg.usage.input_tokens == 3 + 2 + 3 + 2
    assert msg.usage.output_tokens == 8

    with claude_client.messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "stream it"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == MOCK + "stream it "
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 3 + 2
    assert final.usage.output_tokens == 8


def test_messages_max_tokens_and_errors(claude_client):
    msg = claude_client.messages.create(
        model="claude", max_tokens=3, messages=[{"role": "user", "content": "a long question here"}],
    )
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 3
    with pytest.raises(anthropic.NotFoundError) as e:
        claude_client.messages.create(
            model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "no-such-model" in str(e.value)
    with pytest.raises(anthropic.BadRequestError):
        claude_client.messages.create(
            model="small", max_tokens=5, messages=[{"role": "system", "content": "x"}])


def test_messages_with_the_local_model(claude_client):
    msg = claude_client.messages.create(
        model="smol", max_tokens=24, messages=[{"role": "user", "content": FRANCE}],
        extra_body={"temperature": 0},  # this SDK version no longer takes it as an argument
    )
    assert msg.content[0].text == "The capital of France is Paris."
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 37 and msg.usage.output_tokens == 7
    with claude_client.messages.stream(
        model="smol", max_tokens=24, messages=[{"role": "user", "content": FRANCE}],
        extra_body={"temperature": 0},  # this SDK version no longer takes it as an argument
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "The capital of France is Paris."
    assert final.usage.output_tokens == 7 and final.usage.input_tokens == 37


@pytest.mark.parametrize("model", ["small", "claude"])
def test_responses_against_mocks(openai_client, model):
    resp = openai_client.responses.create(
        model=model, input="hello responses", instructions="Be brief.", max_output_tokens=64,
    )
    assert resp.status == "completed"
    assert resp.output_text == MOCK + "hello responses "
    assert resp.usage.input_tokens == 3 + 2 + 3 + 2
    assert resp.usage.output_tokens == 8

    events = list(openai_client.responses.create(model=model, input="stream it", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == MOCK + "stream it "
    done = events[-1].response
    assert done.output_text == text
    assert done.usage.output_tokens == 8

    with openai_client.responses.stream(model=model, input="helper stream") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == MOCK + "helper stream "


def test_responses_with_the_local_model(openai_client):
    resp = openai_client.responses.create(model="smol", input=FRANCE, max_output_tokens=24,
                                          temperature=0)
    assert resp.output_text == "The capital of France is Paris."
    assert resp.usage.output_tokens == 7
    events = list(openai_client.responses.create(model="smol", input=FRANCE, max_output_tokens=24,
                                                 temperature=0, stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "The capital of France is Paris."
    assert events[-1].response.usage.input_tokens == 37


def test_responses_refuse_stored_state(openai_client):
    import openai
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.responses.create(model="small", input="more", previous_response_id="resp_1")
    assert "previous_response_id" in str(e.value)


def _reference_embeddings(texts):
    """all-MiniLM-L6-v2 as sentence-transformers computes it, from the model files with
    ONNX Runtime directly: mean pooling over the attention mask, then L2 normalisation."""
    import os
    import pathlib

    import numpy as np
    import onnxruntime
    from tokenizers import Tokenizer

    folder = pathlib.Path(os.environ.get("SLUICE_MODELS_DIR", "models")) / "all-MiniLM-L6-v2"
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    out = []
    for t in texts:
        enc = tok.encode(t)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                    "token_type_ids": np.zeros_like(ids)})[0][0]
        v = (hidden * mask[0][:, None]).sum(0) / mask[0].sum()
        out.append(v / np.linalg.norm(v))
    return out


def test_embeddings_equal_the_reference(openai_client):
    import numpy as np
    texts = [
        "How do I reverse a linked list in Python?",
        "hi",
        "Sluice routes each request to a small local model or to a frontier API.",
        "Le chat est sur la table, et il dort depuis ce matin.",
    ]
    want = _reference_embeddings(texts)
    # The SDK asks for base64 and decodes it; a batch and each text alone.
    batch = openai_client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)
    assert batch.model == "all-MiniLM-L6-v2"
    assert [d.index for d in batch.data] == list(range(len(texts)))
    for i, t in enumerate(texts):
        got = np.array(batch.data[i].embedding)
        assert got.shape == (384,)
        assert float(got @ want[i]) > 0.999, t
        single = openai_client.embeddings.create(model="all-MiniLM-L6-v2", input=t,
                                                 encoding_format="float")
        assert float(np.array(single.data[0].embedding) @ got) > 0.9999, t
    assert batch.usage.prompt_tokens > 0
    assert batch.usage.total_tokens == batch.usage.prompt_tokens

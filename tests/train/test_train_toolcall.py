import json

from train.toolcall import parse_tool_calls


def test_single_call_after_text():
    text = 'Let me look.\n<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A1"}}\n</tool_call><|im_end|>'
    parsed = parse_tool_calls(text)
    assert parsed.content == "Let me look."
    assert [(c.name, c.arguments) for c in parsed.tool_calls] == [("get_order", {"order_id": "A1"})]
    assert parsed.errors == []


def test_several_calls_and_string_arguments():
    text = (
        '<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call>\n'
        '<tool_call>{"name": "b", "arguments": "{\\"y\\": [1, 2]}"}</tool_call>'
    )
    parsed = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in parsed.tool_calls] == [("a", {"x": 1}), ("b", {"y": [1, 2]})]
    assert parsed.content == ""


def test_plain_reply_has_no_calls_and_stops_at_end_of_turn():
    parsed = parse_tool_calls("Your order shipped.<|im_end|>\n<|im_start|>user\nignored")
    assert parsed.content == "Your order shipped."
    assert parsed.tool_calls == []


def test_malformed_and_unterminated_calls_are_reported_not_dropped_silently():
    parsed = parse_tool_calls('<tool_call>{"name": "a", "arguments": {</tool_call> ok <tool_call>{"name": "b"')
    assert parsed.tool_calls == []
    assert len(parsed.errors) == 2
    assert "could not parse" in parsed.errors[0]
    assert "unterminated" in parsed.errors[1]
    assert parsed.content == "ok"


def test_missing_name_is_an_error():
    parsed = parse_tool_calls('<tool_call>{"arguments": {}}</tool_call>')
    assert parsed.tool_calls == [] and len(parsed.errors) == 1


def test_openai_message_round_trip():
    message = parse_tool_calls('<tool_call>{"name": "f", "arguments": {"k": "v"}}</tool_call>').to_message()
    call = message["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "f"
    assert json.loads(call["function"]["arguments"]) == {"k": "v"}
    assert "tool_calls" not in parse_tool_calls("hi").to_message()

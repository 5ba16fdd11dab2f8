"""The Python half of the walk-through: load the compiled coffee domain and drive it.

Run from the repository root after `envdsl compile examples/walkthrough -o /tmp/envdsl_walkthrough`:

    python examples/walkthrough.py /tmp/envdsl_walkthrough/coffee

With no argument it compiles examples/walkthrough/coffee.env in memory instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

from envdsl.runtime import load_environment
from envdsl.session import environment_from_spec

SPEC = Path(__file__).parent / "walkthrough" / "coffee.env"


def main() -> None:
    env = load_environment(sys.argv[1]) if len(sys.argv) > 1 else environment_from_spec(SPEC)

    print("tools:", ", ".join(f"{name} ({spec.effect})" for name, spec in env.TOOLS.items()))
    print("schema of buy_drink:", env.tool_schemas()[1]["function"]["parameters"]["properties"]["drink"])

    # A call never raises: r.ok says whether it worked, r.content is what an agent would read.
    r = env.call("find_card", {"phone": "5550100002"})
    print("find_card      ->", r.ok, r.content)
    card_id = r.value["card_id"]

    hash_at_seed = env.state_hash()
    snap = env.snapshot()

    r = env.call("buy_drink", {"card_id": card_id, "drink": "cappuccino"})
    print("buy_drink      ->", r.ok, r.content)

    # Failures come back as "Error: <message>" and leave the state untouched.
    before = env.state_hash()
    r = env.call("redeem_free_drink", {"card_id": card_id})
    print("redeem (Ben)   ->", r.ok, r.content)
    print("state unchanged by the failed call:", env.state_hash() == before)

    # Arguments are validated against the schema before the tool runs; JSON strings work too.
    r = env.call("buy_drink", '{"card_id": "k001", "drink": "mocha"}')
    print("bad argument   ->", r.ok, r.content)

    r = env.call("redeem_free_drink", {"card_id": "k001"})
    print("redeem (Ana)   ->", r.ok, r.content)

    # restore() goes back to a snapshot; reset() goes back to the seed.
    env.restore(snap)
    print("after restore, hash equals the seed's:", env.state_hash() == hash_at_seed)
    env.call("buy_drink", {"card_id": "k003", "drink": "tea"})
    env.reset()
    print("after reset, Chloe's stamps:", env.state()["cards"]["k003"]["stamps"])

    # reset(seed=n) makes a fresh random state that fits the types, constraints and generator counts.
    env.reset(seed=7)
    cards = env.state()["cards"]
    generated_hash = env.state_hash()
    print(f"generated state (seed=7): {len(cards)} cards, e.g.", next(iter(cards.values())))
    env.reset(seed=7)
    print("same seed, same state:", env.state_hash() == generated_hash)
    print("invariant failures:", env.invariant_failures())


if __name__ == "__main__":
    main()

"""`recipient TOOL.PARAM`: an argument that may name another user's entity (the account a payment goes
into). Checked by the checker; tasks may then pay another customer, and the filters keep such a
conversation while a read of the other customer's account is still acting on them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from envdsl.ir.rules import PolicyRules
from envdsl.lang.checker import check_module
from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.lang.parser import parse_source
from envdsl.rollout import FilterConfig, judge, run_conversation
from envdsl.rollout.agents import OracleAgent
from envdsl.rollout.filters import tool_defaults
from envdsl.rollout.policy_filters import policy_problems
from envdsl.rollout.users import ScriptedUser
from envdsl.session import environment_from_spec
from envdsl.tasks import SampleConfig, TaskSampler
from envdsl.tasks.initial import reset_to_initial
from envdsl.tasks.ownership import OwnerIndex

ROOT = Path(__file__).resolve().parent.parent
BANK = "specs/bank/bank.env"
BASE = """domain d
record User { user_id: str  email: str }
record Account { account_id: str  user_id: ref<users>  balance: float = 0.0 }
state { users: collection<User> by user_id  accounts: collection<Account> by account_id }
read tool find_user(email: str) -> str { return "u1" }
read tool balance(account_id: str) -> float { return 0.0 }
write tool pay(from_account: str, to_account: str, amount: float) -> str { return to_account }
"""


def _check(rules: str):
    bag = DiagnosticBag()
    module = parse_source(BASE + rules, "d.env", bag)
    ir = check_module(module, bag) if module is not None else None
    return ir, sorted({d.code for d in bag.items})


def test_a_recipient_rule_reaches_the_ir():
    ir, codes = _check("rules {\n user users identified by find_user\n owned accounts.user_id\n"
                       " recipient pay.to_account\n}\n")
    assert codes == [] and ir is not None
    rules = PolicyRules.from_ir(ir)
    assert rules.recipients == (("pay", "to_account"),)
    assert PolicyRules.from_json(json.loads(json.dumps(rules.to_json()))) == rules
    assert rules.owning_arguments("pay", {"from_account": "a", "to_account": "b"}) == {"from_account": "a"}
    assert PolicyRules.from_json({"user": None}).recipients == ()  # IR from before recipients


@pytest.mark.parametrize("line,code", [
    (" user users identified by find_user\n recipient pay.to_acount", "E0809"),
    (" user users identified by find_user\n recipient balance.account_id", "E0810"),
    (" user users identified by find_user\n recipient pay.nope\n", "E0809"),
    (" recipient pay.to_account", "E0808"),
    (" user users identified by find_user\n recipient payy.to_account", "E0803"),
    (" user users identified by find_user\n recipient pay.to_account\n recipient pay.to_account", "E0801"),
])
def test_recipient_rules_are_checked(line, code):
    _, codes = _check("rules {\n" + line + "\n}\n")
    assert codes == [code]


def test_the_users_key_is_never_a_recipient():
    src = BASE.replace("write tool pay(from_account: str", "write tool pay(user_id: str, from_account: str")
    bag = DiagnosticBag()
    module = parse_source(src + "rules {\n user users identified by find_user\n recipient pay.user_id\n}\n",
                          "d.env", bag)
    check_module(module, bag)
    assert [d.code for d in bag.items] == ["E0810"]


def test_bank_tasks_pay_other_customers_and_the_oracle_is_kept():
    env = environment_from_spec(str(ROOT / BANK))
    rules = PolicyRules.from_ir(type(env).ir())
    assert ("transfer_between_accounts", "to_account") in rules.recipients
    tasks = TaskSampler(env, SampleConfig(min_writes=1, failure_rate=0.0), seed=0, spec=BANK).sample(60)
    paying = []
    for task in tasks:
        reset_to_initial(env, task["initial"])
        index = OwnerIndex(rules, env.state())
        for c in task["gold_calls"]:
            args = json.loads(c["arguments"])
            if c["name"] == "transfer_between_accounts" and c["ok"] and \
                    index.owners(args["to_account"]) - {task["user"]}:
                paying.append(task)
    assert paying, "no task pays into another customer's account"
    tools_ir = {t["name"]: t for t in type(env).ir()["tools"]}
    for task in paying:
        rec = run_conversation(env, task, OracleAgent(task, tools_ir), ScriptedUser(task))
        reset_to_initial(env, task["initial"])
        index = OwnerIndex(rules, env.state())
        verdict = judge(rec, task, set(env.TOOLS), tool_defaults(env), FilterConfig(), rules, index)
        assert verdict["keep"], verdict["reasons"]
        # the same conversation under rules without the recipient line: another customer's account
        without = dataclasses.replace(rules, recipients=())
        assert {"policy:other_user", "policy:many_users"} & set(policy_problems(rec["messages"], without, index))

"""Personal data sent as an app developer would with langfuse==5.0.4, for test_v5_privacy.py.

Two traces (turns) in one session, both under `propagate_attributes(user_id=RAW, session_id=S)`:
root span `privacy-turn` > generation `llm-call`, whose input, output and metadata carry an
email address and a phone number. The raw user id, the planted email and the phone number come
from the environment (PARLEY_PRIVACY_USER_ID, PARLEY_PRIVACY_EMAIL, PARLEY_PRIVACY_PHONE), because
the shared scenario runner (conftest.run_scenario) passes only the common arguments. Exits 3 when the SDK logged any warning or error (failed export).
"""

from __future__ import annotations

import os
import sys

from _scenario_common import install_collector, parse_args, usage


def main() -> int:
    args = parse_args(__doc__)
    user_id = os.environ["PARLEY_PRIVACY_USER_ID"]
    email = os.environ["PARLEY_PRIVACY_EMAIL"]
    phone = os.environ["PARLEY_PRIVACY_PHONE"]
    if args.ca:
        os.environ["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"] = args.ca
    import httpx
    from langfuse import Langfuse, propagate_attributes

    collector = install_collector()
    client_kwargs = {}
    if args.ca:
        client_kwargs["httpx_client"] = httpx.Client(verify=args.ca, timeout=10)
    langfuse = Langfuse(public_key=args.public_key, secret_key=args.secret_key, host=args.base_url, **client_kwargs)

    for turn in (1, 2):
        question = f"turn {turn}: please reply to {email} or call {phone} about order 42"
        with propagate_attributes(user_id=user_id, session_id=args.session, trace_name="privacy-turn"):
            with langfuse.start_as_current_observation(as_type="span", name="privacy-turn",
                                                       input={"question": question}) as root:
                u = usage(turn)
                with langfuse.start_as_current_observation(
                    as_type="generation",
                    name="llm-call",
                    model="gpt-4o-mini",
                    input=[{"role": "user", "content": question}],
                    metadata={"contact": email},
                ) as generation:
                    generation.update(
                        output={"role": "assistant", "content": f"I will write to {email} today."},
                        usage_details=u,
                    )
                root.update(output={"answer": f"Confirmation sent to {email}."})

    langfuse.flush()
    langfuse.shutdown()
    if collector.messages:
        print("\n".join(collector.messages), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

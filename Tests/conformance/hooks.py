# Schemathesis hooks of Feedbase's conformance run (loaded by schemathesis.sh through
# SCHEMATHESIS_HOOKS). See docs/API.md, section "Conformance".
import re

import schemathesis

# The shape the document gives a pagination cursor. A cursor is opaque: the only valid ones come
# from a Link header of the same listing, so a generated one is always refused with 400, which
# would make every "valid" listing request that carries one fail positive_data_acceptance.
# Before each request (in every phase) a well-formed cursor is dropped; a malformed one (a
# negative case: empty, or with characters outside the pattern) is kept, and must get its 400.
CURSOR = re.compile(r"^[A-Za-z0-9_-]+$")


@schemathesis.hook
def before_call(context, case, kwargs):
    query = case.query
    if isinstance(query, dict) and isinstance(query.get("after"), str) and CURSOR.match(query["after"]):
        del query["after"]

"""The operations, once: plain functions over a session and an actor, used by the API and the CLI alike.

One module per resource.  Each write checks what the request models cannot
(references, conflicts, escalation, the last superadmin), raises
``pepyhat.errors`` when it refuses, and records its audit event in the
caller's transaction.  Reads filter rows by the actor's scopes.  Whether the
actor may call the operation at all is the policy's question (``api/policy.py``),
asked before.
"""

"""What an auditor can prove without trusting aidflow (issue 14).

- :mod:`.merkle`: RFC 9162 tree hashing, inclusion and consistency proofs and their checks.
- :mod:`.tree`: the tree over the audit journal, stored as leaf hashes and every fourth level.
- :mod:`.leaves`: what one leaf is (an event's masked content and its stored record's hash).
- :mod:`.heads`: the published digest (tree size and root), and verifying a store against it.
- :mod:`.proof`: proof files, made from a store and checked without one.
- :mod:`.snapshots`: stored snapshots checked against a replay of their events.
- :mod:`.bundle` and :mod:`.keys`: signed export bundles and the signing key.
- :mod:`.complete`: what shows a bundle whole (the heads digest; a period's run of events).
"""

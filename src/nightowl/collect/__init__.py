"""``nightowl collect``: fetch exports straight from the providers' APIs (the only networked part).

Microsoft Entra through Microsoft Graph (sign-ins of all four kinds, directory audits, user
registration details, users with their last sign-in), Exchange mailbox audit through the Office 365
Management Activity API, and Okta's System Log. Each source is a :class:`~nightowl.collect.streams.
Stream` of pages; :mod:`nightowl.collect.runner` writes every page batch atomically as a numbered
gzip NDJSON part, with a checkpoint that names where to continue, so a run cut at any moment resumes
with no record lost or written twice. The files are the ones ``nightowl hunt`` already reads.
"""

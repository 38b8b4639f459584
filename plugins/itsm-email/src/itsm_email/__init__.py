"""itsm-email: the email channel of itsmcore.

Outbound, the ``email`` channel sends multipart notifications over SMTP with headers that
thread replies back to their demand. Inbound, ``itsm email ingest`` takes one message from
an MTA (a mailgate) and ``itsm email poll`` reads a mailbox over IMAP; both turn new mail
into demands and replies into journey events, and drop auto-replies, bounces and list copies.
"""

__version__ = "0.1.0"

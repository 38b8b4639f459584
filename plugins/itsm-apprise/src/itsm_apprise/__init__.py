"""itsm-apprise: an outbound channel that reaches customers through Apprise.

One Apprise URL template per channel (``json://...?to={mobile}``, ``tgram://{env:BOT}/{chat}``,
an SMS gateway, ...) turns any of Apprise's services into an itsmcore channel such as
``[channels.sms] use = "apprise"``.
"""

from __future__ import annotations

__version__ = "0.1.0"

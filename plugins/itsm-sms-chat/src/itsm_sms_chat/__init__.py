"""itsm-sms-chat: SMS and chat channels that reach customers and take their messages in.

``[channels.sms] use = "twilio-sms"`` texts customers through a Twilio-compatible messaging
API and takes their texts in from its webhook; ``[channels.chat] use = "slack-chat"`` posts
to a Slack-compatible chat API and takes messages in from its Events API. A customer can
raise a demand, answer a question and confirm a fix by text; answers go back on the same
number or in the same chat thread. The webhooks are served by ``itsm serve`` under
``/channels/NAME/``.
"""

from __future__ import annotations

__version__ = "0.1.0"

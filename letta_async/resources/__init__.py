"""One module per API resource; each only builds requests and names the result type."""

from .agents import Agents
from .conversations import Conversations
from .messages import AgentMessages, ConversationMessages
from .runs import Runs

__all__ = ["AgentMessages", "Agents", "ConversationMessages", "Conversations", "Runs"]

"""One module per API resource; each only builds requests and names the result type."""

from .agents import Agents
from .all_messages import Messages
from .archives import Archives
from .batches import Batches
from .blocks import Blocks
from .chat import Chat
from .conversations import Conversations
from .embeddings import Embeddings
from .folders import Folders
from .health import HealthChecks
from .jobs import Jobs
from .mcp_servers import McpServers
from .messages import AgentMessages, ConversationMessages
from .models import Models
from .passages import Passages
from .providers import Providers
from .runs import Runs
from .sandbox_config import SandboxConfigs
from .steps import Steps
from .tags import Tags
from .tools import Tools

__all__ = [
    "AgentMessages",
    "Agents",
    "Archives",
    "Batches",
    "Blocks",
    "Chat",
    "ConversationMessages",
    "Conversations",
    "Embeddings",
    "Folders",
    "HealthChecks",
    "Jobs",
    "McpServers",
    "Messages",
    "Models",
    "Passages",
    "Providers",
    "Runs",
    "SandboxConfigs",
    "Steps",
    "Tags",
    "Tools",
]

"""Transport adapters: each turns its messenger's events into core Conversations and hands them
to the routes (``core/features.py``). ``vk.py``: VK Messenger through vkbottle."""

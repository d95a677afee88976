from tests.agents import fake_anthropic as vendor

# The model vendor's loopback stand-in and its fixtures, shared with tests/agents (one copy, in fake_anthropic.py).
fake_anthropic = vendor.fake_anthropic
redis_prefix = vendor.redis_prefix

"""Environments: ``make_env`` over any Gymnasium id, the chapter's wrappers, its Atari
preprocessing (``make_atari_env``), its 4x4 grid world, and ``check_env`` for custom
environments."""

from rlworks.envs.atari import (
    AtariBackend,
    AtariOptions,
    ClipRewardSign,
    FireReset,
    SeededAtariVectorEnv,
    atari_action_meanings,
    make_atari_env,
    make_atari_single_env,
)
from rlworks.envs.checker import check_env, load_env_target
from rlworks.envs.gridworld import GridWorldEnv
from rlworks.envs.make import SeededVectorEnv, Vectorization, make_env, make_single_env
from rlworks.envs.registry import is_atari_id, list_envs, register_atari, resolve_env_id
from rlworks.envs.spaces import require_spaces, space_signature
from rlworks.envs.wrappers import (
    ActionClipWrapper,
    ActionDiscretizeWrapper,
    ActionRepeat,
    RunStats,
    TimeLimit,
    VideoWrapper,
)

__all__ = [
    "ActionClipWrapper",
    "ActionDiscretizeWrapper",
    "ActionRepeat",
    "AtariBackend",
    "AtariOptions",
    "ClipRewardSign",
    "FireReset",
    "GridWorldEnv",
    "RunStats",
    "SeededAtariVectorEnv",
    "SeededVectorEnv",
    "TimeLimit",
    "Vectorization",
    "VideoWrapper",
    "atari_action_meanings",
    "check_env",
    "is_atari_id",
    "list_envs",
    "load_env_target",
    "make_atari_env",
    "make_atari_single_env",
    "make_env",
    "make_single_env",
    "register_atari",
    "require_spaces",
    "resolve_env_id",
    "space_signature",
]

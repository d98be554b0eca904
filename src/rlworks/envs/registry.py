"""Environment ids: lookup, friendly errors, Atari registration and the `rlworks envs` listing.

This module owns everything rlworks knows about environment *ids* before an environment is made:

* :data:`ATARI_GAMES` and :func:`is_atari_id` recognise Atari ids without needing ale-py;
* :func:`register_atari` registers ale-py's ids with Gymnasium when the ``atari`` extra is
  installed;
* :func:`register_rlworks_envs` registers rlworks' own environments (``rlworks/GridWorld-v0``);
  it runs when this module is imported;
* :func:`resolve_env_id` turns an id into its :class:`~gymnasium.envs.registration.EnvSpec` or
  raises an :class:`~rlworks.errors.EnvError` with a suggestion (``did you mean 'CartPole-v1'?``)
  or the extra to install;
* :func:`missing_extra_hint` turns Gymnasium's ``DependencyNotInstalled`` (raised when an env is
  *made*, e.g. LunarLander without Box2D) into a one-line hint naming the extra;
* :func:`list_envs` groups the available ids by family for ``rlworks envs``.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Mapping

import gymnasium
from gymnasium.envs import registration
from gymnasium.envs.registration import EnvSpec
from gymnasium.error import DependencyNotInstalled

from rlworks.errors import EnvError

__all__ = [
    "ATARI_GAMES",
    "ENV_FAMILIES",
    "env_family",
    "is_atari_id",
    "list_envs",
    "missing_extra_hint",
    "register_atari",
    "register_rlworks_envs",
    "resolve_env_id",
]

#: The CamelCase names of the Atari 2600 games ale-py 0.12 registers (as ``ALE/<Name>-v5``).
#: Kept as a literal so that Atari ids are recognised even when ale-py is not installed.
ATARI_GAMES: tuple[str, ...] = (
    "Adventure",
    "AirRaid",
    "Alien",
    "Amidar",
    "Assault",
    "Asterix",
    "Asteroids",
    "Atlantis",
    "Atlantis2",
    "Backgammon",
    "BankHeist",
    "BasicMath",
    "BattleZone",
    "BeamRider",
    "Berzerk",
    "Blackjack",
    "Bowling",
    "Boxing",
    "Breakout",
    "Carnival",
    "Casino",
    "Centipede",
    "ChopperCommand",
    "CrazyClimber",
    "Crossbow",
    "Darkchambers",
    "Defender",
    "DemonAttack",
    "DonkeyKong",
    "DoubleDunk",
    "Earthworld",
    "ElevatorAction",
    "Enduro",
    "Entombed",
    "Et",
    "FishingDerby",
    "FlagCapture",
    "Freeway",
    "Frogger",
    "Frostbite",
    "Galaxian",
    "Gopher",
    "Gravitar",
    "Hangman",
    "HauntedHouse",
    "Hero",
    "HumanCannonball",
    "IceHockey",
    "Jamesbond",
    "JourneyEscape",
    "Kaboom",
    "Kangaroo",
    "KeystoneKapers",
    "KingKong",
    "Klax",
    "Koolaid",
    "Krull",
    "KungFuMaster",
    "LaserGates",
    "LostLuggage",
    "MarioBros",
    "MiniatureGolf",
    "MontezumaRevenge",
    "MrDo",
    "MsPacman",
    "NameThisGame",
    "Othello",
    "Pacman",
    "Phoenix",
    "Pitfall",
    "Pitfall2",
    "Pong",
    "Pooyan",
    "PrivateEye",
    "Qbert",
    "Riverraid",
    "RoadRunner",
    "Robotank",
    "Seaquest",
    "SirLancelot",
    "Skiing",
    "Solaris",
    "SpaceInvaders",
    "SpaceWar",
    "StarGunner",
    "Superman",
    "Surround",
    "Tennis",
    "Tetris",
    "TicTacToe3D",
    "TimePilot",
    "Trondead",
    "Turmoil",
    "Tutankham",
    "UpNDown",
    "Venture",
    "VideoCheckers",
    "VideoChess",
    "VideoCube",
    "VideoPinball",
    "WizardOfWor",
    "WordZapper",
    "YarsRevenge",
    "Zaxxon",
)

#: Family names in the order ``rlworks envs`` prints them.
ENV_FAMILIES: tuple[str, ...] = (
    "classic-control",
    "box2d",
    "toy-text",
    "mujoco",
    "atari",
    "rlworks",
    "phys2d",
    "tabular",
    "other",
)

GRIDWORLD_ID = "rlworks/GridWorld-v0"

_ATARI_NAMES_LOWER = frozenset(name.lower() for name in ATARI_GAMES)
# "ALE/Pong-v5", "Pong-v4", "PongNoFrameskip-v4", "PongDeterministic-v4", "Pong-ram-v5",
# "Pong-ramNoFrameskip-v4"; the version is optional so that "ALE/Pong" is recognised too.
_ATARI_ID_RE = re.compile(
    r"^(?:ALE/)?(?P<name>[A-Za-z0-9]+?)(?:-ram)?(?:NoFrameskip|Deterministic)?(?:-v\d+)?$"
)
_ATARI_HINT = 'pip install "rlworks[atari]"'
# Gymnasium sub-packages whose environments rlworks names by family.
_GYMNASIUM_FAMILIES: Mapping[str, str] = {
    "classic_control": "classic-control",
    "box2d": "box2d",
    "toy_text": "toy-text",
    "mujoco": "mujoco",
    "phys2d": "phys2d",
    "tabular": "tabular",
}
# Suggest registered ids at least this similar (difflib ratio) to an unknown id, and only those
# within _SUGGEST_MARGIN of the best one, so that a clear typo gets a single suggestion.
_SUGGEST_CUTOFF = 0.75
_SUGGEST_MARGIN = 0.05
# Cached result of a successful register_atari(); a failure is retried on the next call.
_atari_registered = False


def is_atari_id(env_id: str) -> bool:
    """Tell whether ``env_id`` names an Atari game, without importing ale-py.

    Recognises the ale-py forms ``ALE/<Name>-v5`` and the legacy ``<Name>-v0``/``-v4``,
    ``<Name>NoFrameskip-v4``, ``<Name>Deterministic-v4`` and ``<Name>-ram-v5`` ids, where ``<Name>``
    is one of :data:`ATARI_GAMES` (compared case-insensitively).

    Args:
        env_id: An environment id such as ``"ALE/Breakout-v5"``.

    Returns:
        True when the id names an Atari game.
    """
    match = _ATARI_ID_RE.match(env_id)
    return match is not None and match.group("name").lower() in _ATARI_NAMES_LOWER


def register_atari() -> bool:
    """Register ale-py's Atari environments with Gymnasium when ale-py is installed.

    Importing ale-py registers its ids; ``gymnasium.register_envs(ale_py)`` makes that import
    explicit (and keeps linters from removing it). The registration happens once per process.

    Returns:
        True when ale-py is importable and its ids are registered, False otherwise.
    """
    global _atari_registered
    if _atari_registered:
        return True
    try:
        import ale_py
    except ImportError:
        return False
    gymnasium.register_envs(ale_py)
    _atari_registered = True
    return True


def register_rlworks_envs() -> None:
    """Register rlworks' own environments with Gymnasium; calling it again does nothing.

    Registers, each with a 100-step time limit:

    * ``rlworks/GridWorld-v0`` (:class:`rlworks.envs.gridworld.GridWorldEnv`, the chapter's 4x4
      grid);
    * ``rlworks/BookMDP-v0`` (:class:`rlworks.mdp.env.TabularMDPEnv` on the chapter's 3-state
      MDP, ``mdp="book"``; pass ``mdp=`` another example, file or toy-text id to change it).
    """
    if GRIDWORLD_ID not in registration.registry:
        gymnasium.register(
            id=GRIDWORLD_ID,
            entry_point="rlworks.envs.gridworld:GridWorldEnv",
            max_episode_steps=100,
        )
    if "rlworks/BookMDP-v0" not in registration.registry:
        gymnasium.register(
            id="rlworks/BookMDP-v0",
            entry_point="rlworks.mdp.env:TabularMDPEnv",
            kwargs={"mdp": "book"},
            max_episode_steps=100,
        )


def resolve_env_id(env_id: str) -> EnvSpec:
    """Return the :class:`~gymnasium.envs.registration.EnvSpec` registered under ``env_id``.

    Atari ids trigger :func:`register_atari` first. Gymnasium's ``"module:EnvId-v0"`` form imports
    ``module`` (which registers its ids) before the lookup.

    Args:
        env_id: A registered environment id, e.g. ``"CartPole-v1"`` or ``"ALE/Breakout-v5"``.

    Returns:
        The environment's spec (entry point, time limit, keyword arguments).

    Raises:
        EnvError: The id is not registered (the message suggests close matches), it is an Atari
            id and ale-py is not installed (the message names the ``atari`` extra), or the
            module of a ``"module:EnvId"`` id cannot be imported.
    """
    if not isinstance(env_id, str):
        raise EnvError(
            f"environment id {env_id!r} ({type(env_id).__name__}) is not a string; "
            "expected an id such as 'CartPole-v1'"
        )
    lookup_id = _import_id_module(env_id)
    spec = registration.registry.get(lookup_id)
    if spec is None and is_atari_id(lookup_id):
        if not register_atari():
            raise EnvError(
                f"{env_id!r} is an Atari environment and needs the atari extra: {_ATARI_HINT}"
            )
        spec = registration.registry.get(lookup_id)
    if spec is None:
        register_atari()  # widen the pool of suggestions when ale-py is there
        raise EnvError(_unknown_id_message(env_id, lookup_id))
    return spec


def _import_id_module(env_id: str) -> str:
    """Import the module of a ``"module:EnvId"`` id and return the bare id."""
    if ":" not in env_id:
        return env_id
    module_name, _, bare_id = env_id.partition(":")
    try:
        importlib.import_module(module_name)
    except ImportError as exc:
        raise EnvError(
            f"cannot import module {module_name!r} of environment id {env_id!r}: {exc}"
        ) from exc
    return bare_id


def _unknown_id_message(env_id: str, lookup_id: str) -> str:
    """Build the one-line "unknown id" message with the closest registered ids, if any."""
    by_lower: dict[str, str] = {}
    for registered in sorted(registration.registry):
        by_lower.setdefault(registered.lower(), registered)
    wanted = lookup_id.lower()
    # The id in other letter case, then the same id in a namespace ("Breakout-v5" ->
    # "ALE/Breakout-v5"), beat any spelling match.
    matches = [wanted] if wanted in by_lower else []
    if not matches:
        matches = [low for low in by_lower if low.endswith("/" + wanted)]
    if not matches:
        close = difflib.get_close_matches(wanted, list(by_lower), n=3, cutoff=_SUGGEST_CUTOFF)
        if close:
            best = difflib.SequenceMatcher(None, wanted, close[0]).ratio()
            matches = [
                low
                for low in close
                if difflib.SequenceMatcher(None, wanted, low).ratio() >= best - _SUGGEST_MARGIN
            ]
    message = f"unknown environment id {env_id!r}"
    if matches:
        quoted = [repr(by_lower[match]) for match in matches]
        suggestion = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        message += f"; did you mean {suggestion}?"
    return message + " (see `rlworks envs`)"


def missing_extra_hint(env_id: str, exc: BaseException) -> str | None:
    """Turn the error of a missing optional dependency into a one-line install hint.

    Gymnasium raises ``DependencyNotInstalled`` when an environment is *made* (not when its spec
    is looked up), e.g. ``LunarLander-v3`` without Box2D or ``HalfCheetah-v5`` without MuJoCo.

    Args:
        env_id: The id that was being made, named in the hint.
        exc: The exception raised by ``gymnasium.make``.

    Returns:
        A message such as ``'LunarLander-v3' needs Box2D, which is not installed: pip install
        "rlworks[box2d]"``, or None when ``exc`` is not a missing Box2D, MuJoCo, pygame, JAX or
        ale-py dependency.
    """
    if isinstance(exc, DependencyNotInstalled):
        text = str(exc).lower()
    elif isinstance(exc, ModuleNotFoundError) and exc.name is not None:
        text = exc.name.lower()
    else:
        return None
    if "box2d" in text:
        return f'{env_id!r} needs Box2D, which is not installed: pip install "rlworks[box2d]"'
    if "mujoco" in text:
        return f'{env_id!r} needs MuJoCo, which is not installed: pip install "gymnasium[mujoco]"'
    if "pygame" in text:
        return (
            f"{env_id!r} needs pygame to render, which is not installed: "
            'pip install "gymnasium[classic-control]"'
        )
    if text == "jax" or "jax is not installed" in text:
        return f'{env_id!r} is a JAX environment and needs JAX: pip install "gymnasium[jax]"'
    if "ale_py" in text or "ale-py" in text:
        return f"{env_id!r} is an Atari environment and needs the atari extra: {_ATARI_HINT}"
    return None


def env_family(spec: EnvSpec) -> str | None:
    """Name the family of a registered environment from its entry point's module.

    Args:
        spec: A registered environment spec.

    Returns:
        One of :data:`ENV_FAMILIES`, or None for Gymnasium's placeholder ids that only raise an
        error (the mujoco-py ``-v2``/``-v3`` ids and the shimmy compatibility ids).
    """
    entry_point = spec.entry_point
    if isinstance(entry_point, str):
        module = entry_point.partition(":")[0]
    elif entry_point is None:
        return "other"
    else:
        module = getattr(entry_point, "__module__", "") or ""
        if module == "gymnasium.envs":  # placeholders registered to raise an ImportError
            return None
    parts = module.split(".")
    if parts[0] == "ale_py":
        return "atari"
    if parts[0] == "rlworks":
        return "rlworks"
    if parts[:2] == ["gymnasium", "envs"] and len(parts) > 2:
        return _GYMNASIUM_FAMILIES.get(parts[2], "other")
    return "other"


def list_envs() -> dict[str, list[str]]:
    """List the registered environment ids, grouped by family.

    Atari ids appear only when ale-py is installed, and only in their ``ALE/<Name>-v5`` form.
    Gymnasium's placeholder ids that can never be made are left out.

    Returns:
        A mapping from family (in :data:`ENV_FAMILIES` order, non-empty families only) to the
        sorted ids of that family.
    """
    register_atari()
    groups: dict[str, list[str]] = {family: [] for family in ENV_FAMILIES}
    for env_id, spec in registration.registry.items():
        family = env_family(spec)
        if family is None:
            continue
        if family == "atari" and not (spec.namespace == "ALE" and spec.version == 5):
            continue
        groups[family].append(env_id)
    return {family: sorted(ids, key=str.lower) for family, ids in groups.items() if ids}


register_rlworks_envs()

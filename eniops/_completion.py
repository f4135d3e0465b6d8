"""Shell completion for `eniops`, generated from its argument parser (no dependency)."""

from __future__ import annotations

import argparse


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> dict[str, str]:
    """Each command path ("eip remap") and the words that may follow it."""
    found: dict[str, str] = {}
    options = [flag for action in parser._actions for flag in action.option_strings]
    subcommands: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, sub in action.choices.items():
                subcommands.append(word)
                found.update(_commands(sub, (*words, word)))
    found[" ".join(words)] = " ".join([*subcommands, *options])
    return found


def bash_script(parser: argparse.ArgumentParser) -> str:
    """A bash completion function for the eniops command."""
    cases = "\n".join(
        f'    "{path}") words="{choices}" ;;' for path, choices in sorted(_commands(parser).items())
    )
    return f"""# eniops completion for bash: eval "$(eniops completion bash)"
_eniops() {{
  local cur path word words
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  path=""
  for word in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
    case "$word" in -*) ;; *) case " $(_eniops_next "$path") " in
      *" $word "*) path="${{path:+$path }}$word" ;; esac ;; esac
  done
  COMPREPLY=( $(compgen -W "$(_eniops_next "$path")" -- "$cur") )
}}
_eniops_next() {{
  local words=""
  case "$1" in
{cases}
  esac
  printf '%s' "$words"
}}
complete -F _eniops eniops
"""

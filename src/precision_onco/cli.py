"""Command-line interface: ``precision-onco <command> ...``.

Commands
--------
config compose   compose conf/ (with Hydra overrides) into params.yaml for DVC
config show      print the composed, validated configuration
synthesize       write a synthetic cohort outside the DVC pipeline
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from precision_onco import __version__
from precision_onco.config import compose, load_params, to_yaml
from precision_onco.stage import EXPECTED_ERRORS, configure_logging

__all__ = ["main"]

log = logging.getLogger(__name__)

_PARAMS_HEADER = (
    "# Composed from conf/ by `precision-onco config compose`: edit conf/, not this file.\n"
    "# DVC stages read their parameters from here (see README, 'Configuration').\n"
)


def _cmd_config_compose(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if os.environ.get("DVC_EXP_NAME") and not args.overrides and not args.force:
        # Inside `dvc exp run`, DVC's Hydra integration has already composed params.yaml
        # from conf/ with the -S overrides: keep it, only check it.
        load_params(out)
        log.info("inside dvc exp run: kept %s composed by DVC (validated)", out)
        return 0
    cfg, _ = compose(args.overrides)
    text = _PARAMS_HEADER + to_yaml(cfg)
    if out.is_file() and out.read_text(encoding="utf-8") == text:
        log.info("%s is up to date", out)
        return 0
    out.write_text(text, encoding="utf-8")
    log.info("wrote %s", out)
    return 0


def _cmd_config_show(args: argparse.Namespace) -> int:
    cfg, _ = compose(args.overrides)
    sys.stdout.write(to_yaml(cfg))
    return 0


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from precision_onco.synth import synthesize

    _, cfg = compose(args.overrides)
    summary = synthesize(cfg, Path(args.out), progress=sys.stderr.isatty())
    print(
        f"{summary.n_patients} patients, {summary.n_lines} therapy lines, "
        f"{summary.n_variant_records} variant records -> {args.out}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="precision-onco",
        description="Precision-oncology pipeline: calibrated, explained regimen recommendations "
        "(decision support).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    cfg = sub.add_parser("config", help="compose and check the Hydra configuration")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    c = cfg_sub.add_parser("compose", help="write the composed config to params.yaml")
    c.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. synth.n_patients=500")
    c.add_argument("--out", default="params.yaml", help="output file (default: params.yaml)")
    c.add_argument("--force", action="store_true", help="compose even inside dvc exp run")
    c.set_defaults(func=_cmd_config_compose)
    s = cfg_sub.add_parser("show", help="print the composed, validated config")
    s.add_argument("overrides", nargs="*")
    s.set_defaults(func=_cmd_config_show)

    syn = sub.add_parser("synthesize", help="write a synthetic cohort (outside DVC)")
    syn.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. synth.n_patients=200")
    syn.add_argument("--out", required=True, help="output directory")
    syn.set_defaults(func=_cmd_synthesize)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``precision-onco`` console script."""
    args = _parser().parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args))
    except EXPECTED_ERRORS as exc:
        log.debug("command failed", exc_info=True)
        print(f"precision-onco: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

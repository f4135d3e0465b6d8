"""The build's one step beyond pyproject.toml: the reference (docs/reference.md, which the
repository keeps for people reading it there) ships inside the package as well, so that an
installed eniops shows it (`eniops docs`)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class WithReference(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "docs" / "reference.md"
        target = Path(self.build_lib) / "eniops" / "reference.md"
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")


setup(cmdclass={"build_py": WithReference})

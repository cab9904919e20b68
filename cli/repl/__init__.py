"""The interactive workbench: ``workbench shell``."""

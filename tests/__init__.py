"""cloudgd tests (a package, so test modules in different folders may share names)."""

"""Declarative mappings: the YAML spec, its loader and checks, converters, and the compiled form decoders use."""

from translators.mapping.compiled import CompiledMapping, FieldProblem
from translators.mapping.loader import compile_spec, load_mapping
from translators.mapping.spec import MappingSpec

__all__ = ["CompiledMapping", "FieldProblem", "MappingSpec", "compile_spec", "load_mapping"]

"""LightningModules: one base task, one task per problem."""

from nie.tasks.importance import NodeImportanceTask

__all__ = ["NodeImportanceTask"]

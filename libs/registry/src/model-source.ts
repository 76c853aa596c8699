import type { ModelMetadata } from '@scoreq/contracts';

/** One version as a source knows it, before onnxruntime has read its signature. */
export interface SourceVersion {
  version: string;
  /** A local file the pool threads can load (fetched into a local cache first where needed). */
  localPath(): Promise<string>;
  sha256: string;
  size: number;
  createdAt: string;
  metadata: ModelMetadata;
}

export interface SourceModel {
  name: string;
  versions: SourceVersion[];
  /** Alias → version. */
  aliases: Record<string, string>;
}

/**
 * Where a worker finds the models it serves. The spine reads a directory; the model
 * repository replaces it behind this interface without touching the batcher.
 */
export interface ModelSource {
  listModels(): Promise<string[]>;
  /** The model's versions and aliases, or null when the source has no such model. */
  getModel(name: string): Promise<SourceModel | null>;
  /**
   * True when the source itself publishes model records for producers (the registry);
   * false when the worker must publish what it loads (a plain directory).
   */
  readonly publishesRecords: boolean;
  /** Calls `onChange(model)` whenever a model's versions or aliases change; resolves to an unsubscribe. */
  watch?(onChange: (model: string) => void): Promise<() => Promise<void>>;
}

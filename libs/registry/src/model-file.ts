import { open } from 'node:fs/promises';
import { ScoreqError } from '@scoreq/contracts';

/**
 * Reads a model file (or takes bytes in hand) for a push, refusing before anything is stored:
 * a missing file, a zero-byte file and one over `maxBytes` (checked from its size, before
 * reading it). Whether the bytes are ONNX is for onnxruntime to say.
 *
 * @returns the bytes and how messages should name them.
 */
export async function readModelFile(file: string | Uint8Array, maxBytes: number): Promise<{ bytes: Uint8Array; label: string }> {
  if (typeof file !== 'string') {
    checkSize(file.byteLength, maxBytes, 'the model bytes');
    return { bytes: file, label: 'the model bytes' };
  }
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new ScoreqError('INVALID_OPTION', `cannot read model file ${file}: ${why}`, { field: 'file', file });
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ScoreqError('INVALID_OPTION', `model file ${file} is not a regular file`, { field: 'file', file });
    checkSize(info.size, maxBytes, `model file ${file}`);
    const bytes = new Uint8Array(info.size);
    const { bytesRead } = await handle.read(bytes, 0, info.size, 0);
    if (bytesRead !== info.size) {
      throw new ScoreqError(
        'MODEL_INVALID',
        `model file ${file} changed while it was read (${bytesRead} of ${info.size} bytes); push it again once it is written`,
        { field: 'file', file },
      );
    }
    return { bytes, label: `model file ${file}` };
  } catch (err) {
    // A directory opens fine on Linux and fails on read.
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new ScoreqError('INVALID_OPTION', `cannot read model file ${file}: it is a directory`, { field: 'file', file });
    }
    throw err;
  } finally {
    await handle.close();
  }
}

function checkSize(size: number, maxBytes: number, what: string): void {
  if (size === 0) {
    throw new ScoreqError('MODEL_INVALID', `${what} is empty (0 bytes): the export or copy did not finish; push the complete .onnx file`, {
      field: 'file',
      size,
    });
  }
  if (size > maxBytes) {
    throw new ScoreqError(
      'MODEL_TOO_LARGE',
      `${what} is ${formatBytes(size)} (${size} bytes), over the limit of ${formatBytes(maxBytes)} (${maxBytes} bytes); ` +
        `shrink the model (e.g. quantize it) or raise SCOREQ_MAX_MODEL_BYTES (options.maxModelBytes)`,
      { field: 'file', size, maxBytes },
    );
  }
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

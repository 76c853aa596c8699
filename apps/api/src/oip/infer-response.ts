import type { OutputTensor } from '@scoreq/contracts';
import { encodeBinaryOutput, HEADER_LENGTH, type BinaryOutput } from './binary-tensors.js';

/** An output answered in JSON. BOOL outputs travel as 0/1 numbers; the protocol's JSON form is true/false. */
interface JsonOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | boolean)[];
}

export interface InferAnswer {
  model_name: string;
  model_version: string;
  id: string;
  outputs: (JsonOutput | BinaryOutput)[];
}

/** An answer and how to send it: JSON, or the JSON header then binary outputs. */
export type InferReply = { kind: 'json'; body: InferAnswer } | { kind: 'binary'; body: Buffer; headers: Record<string, string> };

/**
 * The infer answer. When any output is asked for in binary form, the body is the JSON of
 * `Inference-Header-Content-Length` bytes then each binary output's bytes in order, as
 * tritonclient.http and KServe's InferResponse.from_bytes read it.
 */
export function inferReply(head: Omit<InferAnswer, 'outputs'>, tensors: readonly OutputTensor[], binary: (name: string) => boolean): InferReply {
  const tails: Buffer[] = [];
  const outputs = tensors.map((t): JsonOutput | BinaryOutput => {
    if (!binary(t.name)) return { name: t.name, datatype: t.datatype, shape: t.shape, data: t.datatype === 'BOOL' ? t.data.map((v) => v !== 0) : t.data };
    const { described, bytes } = encodeBinaryOutput(t);
    tails.push(bytes);
    return described;
  });
  const body = { ...head, outputs };
  if (tails.length === 0) return { kind: 'json', body };
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  return {
    kind: 'binary',
    body: Buffer.concat([json, ...tails]),
    headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(json.length) },
  };
}

// Safe reading of an agency's XML with a kept parser (fast-xml-parser): a DTD is refused outright (so no
// entity is ever expanded and nothing external is ever fetched), and size, nesting depth and element count
// are bounded while the bytes arrive, before anything is parsed.
import { XMLParser } from "fast-xml-parser";
import { AnswerLimitError, type AnswerLimits } from "./answer-limits.ts";

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const QUOTE = 0x22;
const APOS = 0x27;

const DTD = /<!DOCTYPE|<!ENTITY/i;

/**
 * Watches an XML body chunk by chunk: bytes, element nesting and element count, without parsing. Comments,
 * processing instructions and CDATA are skipped as markup; a DTD is refused when the text is read.
 */
export function createXmlGuard(limits: AnswerLimits): { feed(chunk: Uint8Array): void } {
  let bytes = 0;
  let depth = 0;
  let elements = 0;
  // outside | tag-start (just after '<') | in-tag | in-closing | markup (<! or <?)
  let state: 0 | 1 | 2 | 3 | 4 = 0;
  let quote = 0;
  let previous = 0;
  return {
    feed(chunk) {
      bytes += chunk.length;
      if (bytes > limits.maxBytes) throw new AnswerLimitError(`answered more than ${limits.maxBytes} bytes`);
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i] as number;
        switch (state) {
          case 0:
            if (c === LT) state = 1;
            break;
          case 1:
            if (c === SLASH) state = 3;
            else if (c === BANG || c === QUESTION) state = 4;
            else {
              state = 2;
              depth += 1;
              elements += 1;
              if (depth > limits.maxDepth) throw new AnswerLimitError(`answered XML nested more than ${limits.maxDepth} levels deep`);
              if (elements > limits.maxKeys) throw new AnswerLimitError(`answered more than ${limits.maxKeys} XML elements`);
            }
            break;
          case 2:
            if (quote !== 0) {
              if (c === quote) quote = 0;
            } else if (c === QUOTE || c === APOS) quote = c;
            else if (c === GT) {
              if (previous === SLASH) depth -= 1;
              state = 0;
            }
            break;
          case 3:
            if (c === GT) {
              depth -= 1;
              state = 0;
            }
            break;
          case 4:
            if (c === GT) state = 0;
            break;
        }
        previous = c;
      }
    },
  };
}

const PARSER_OPTIONS = {
  ignoreAttributes: true,
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  trimValues: true,
  jPath: true,
} as const;

/** Parses guarded XML; throws AnswerLimitError for a DTD and Error for XML that is not well formed. */
export function parseXml(text: string, isArray: (jpath: string) => boolean): Record<string, unknown> {
  if (DTD.test(text)) throw new AnswerLimitError("answered XML with a DTD, which is refused (entities are never expanded)");
  const configured = new XMLParser({ ...PARSER_OPTIONS, isArray: (_name: string, jpath: unknown) => isArray(String(jpath)) });
  return configured.parse(text, true) as Record<string, unknown>;
}

/** XML text for an element's content. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

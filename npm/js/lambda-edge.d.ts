// Types for `corsguard/lambda-edge`: the parts of CloudFront's Lambda@Edge events it reads.
import type { Policy } from './corsguard.js';

/** CloudFront's header map: lowercase names, each with its lines. */
export type CloudFrontHeaders = Record<string, { key?: string; value: string }[]>;

export interface CloudFrontRequest {
  method: string;
  uri: string;
  querystring: string;
  headers: CloudFrontHeaders;
  [field: string]: unknown;
}

export interface CloudFrontResponse {
  status: string;
  statusDescription?: string;
  headers: CloudFrontHeaders;
  [field: string]: unknown;
}

export interface CloudFrontEvent {
  Records: [{
    cf: {
      config: { eventType: 'viewer-request' | 'viewer-response' | 'origin-request' | 'origin-response'; [field: string]: unknown };
      request: CloudFrontRequest;
      response?: CloudFrontResponse;
    };
  }];
}

/**
 * The handler for a cache behavior's viewer-request and viewer-response events. A policy given as
 * the file's text is validated now: a refused policy throws a `PolicyError`.
 */
export function lambdaEdge(policy: Policy | string): (event: CloudFrontEvent) => Promise<CloudFrontRequest | CloudFrontResponse>;

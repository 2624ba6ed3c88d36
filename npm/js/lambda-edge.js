// corsguard for AWS Lambda@Edge: one handler for a CloudFront cache behavior's viewer-request and
// viewer-response events. The request event answers preflights (CloudFront returns that answer
// without asking the cache or the origin); the response event puts the policy's headers on the
// answer, cached or not. Both decide on the viewer's request, which is what CloudFront forwards.
// Origin events are refused: their request is the one CloudFront rewrote for the origin (its
// `Host` is the origin's), so a route could be chosen on another host than the preflight's.
import { Policy } from './node.js';

/** A CloudFront header map (`{ name: [{ key, value }] }`, names in lowercase) read as Fetch reads headers. */
function cloudFrontHeaders(map) {
  return {
    get(name) {
      const lines = map[name.toLowerCase()];
      return lines?.length ? lines.map(({ value }) => value).join(', ') : null;
    },
    set(name, value) {
      map[name.toLowerCase()] = [{ key: name, value }];
    },
    delete(name) {
      delete map[name.toLowerCase()];
    },
  };
}

/** Header pairs as a CloudFront header map. */
function headerMap(pairs) {
  const map = {};
  for (const [name, value] of pairs) (map[name.toLowerCase()] ??= []).push({ key: name, value });
  return map;
}

/** The request as the engine reads it: CloudFront forwards `uri` and `querystring` as they are. */
function view(request) {
  const path = request.querystring ? `${request.uri}?${request.querystring}` : request.uri;
  const headers = cloudFrontHeaders(request.headers ?? {});
  return { method: request.method, host: headers.get('host') ?? '', path, headers };
}

/**
 * The Lambda@Edge handler for `policy` (a `Policy`, or the policy file's text, which is
 * validated now: a refused policy throws a `PolicyError` when the function loads, never later).
 */
export function lambdaEdge(policy) {
  const compiled = policy instanceof Policy ? policy : Policy.parse(policy);
  return async function corsguard(event) {
    const { config, request, response } = event.Records[0].cf;
    const { action, denialLine } = compiled.evaluate(view(request), config.requestId);
    switch (config.eventType) {
      case 'viewer-request':
        if (denialLine !== null) console.log(denialLine); // once per request: viewer-request runs first
        if (action.type !== 'respond') return request;
        return { status: String(action.status), headers: headerMap(action.headers) };
      case 'viewer-response':
        if (action.type === 'forward') compiled.applyEdits(action, cloudFrontHeaders(response.headers));
        if (action.type === 'respond') {
          // The request event did not answer this preflight: the origin's answer loses every CORS
          // header, so the browser refuses it (fail closed) until viewer-request is associated.
          console.warn('corsguard: a preflight reached the origin; associate this function with viewer-request');
          compiled.applyEdits({ type: 'forward', headers: [], varyOrigin: false }, cloudFrontHeaders(response.headers));
        }
        return response;
      default:
        throw new Error(`corsguard: associate this function with viewer-request and viewer-response, not ${config.eventType}`);
    }
  };
}

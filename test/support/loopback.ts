/** The client settings every test uses against an emulator on 127.0.0.1: fixed Region and keys, one attempt. */
export function loopbackClientConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  };
}

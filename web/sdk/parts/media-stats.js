// What RTCPeerConnection.getStats() tells of the call: voice levels (USER_VOICE_VOLUME) and byte
// counters (getStats()).

/**
 * {userID: 0..100} for every peer (the sound received from them), and `localUserID`'s own (the
 * microphone's level; 0 while muted).
 */
export async function voiceLevels(peers, localUserID, muted) {
  const volumeMap = {};
  let local = null;
  for (const [userID, peer] of peers) {
    const report = await peer.pc.getStats();
    let level = 0;
    report.forEach((s) => {
      if (s.kind !== 'audio' || typeof s.audioLevel !== 'number') return;
      if (s.type === 'inbound-rtp') level = Math.max(level, s.audioLevel);
      else if (s.type === 'media-source') local = Math.max(local || 0, s.audioLevel);
    });
    volumeMap[userID] = Math.round(Math.min(1, level) * 100);
  }
  if (localUserID) {
    volumeMap[localUserID] = muted || local === null ? 0 : Math.round(Math.min(1, local) * 100);
  }
  return volumeMap;
}

/** {userID: {audioBytesReceived, videoBytesReceived, audioBytesSent, videoBytesSent}} of the peers. */
export async function byteCounters(peers) {
  const result = {};
  for (const [userID, peer] of peers) {
    const s = { audioBytesReceived: 0, videoBytesReceived: 0, audioBytesSent: 0, videoBytesSent: 0 };
    const report = await peer.pc.getStats();
    report.forEach((r) => {
      const kind = r.kind || r.mediaType;
      if (kind !== 'audio' && kind !== 'video') return;
      if (r.type === 'inbound-rtp') s[`${kind}BytesReceived`] += r.bytesReceived || 0;
      else if (r.type === 'outbound-rtp') s[`${kind}BytesSent`] += r.bytesSent || 0;
    });
    result[userID] = s;
  }
  return result;
}

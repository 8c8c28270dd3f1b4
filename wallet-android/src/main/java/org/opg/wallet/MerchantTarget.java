package org.opg.wallet;

import org.opg.wallet.protocol.NodeCertificate;

/** The box a payment goes to, from a verified sticker (or a verified BLE session). */
public final class MerchantTarget {
  public final String merchantId;
  public final String deviceId;
  public final String tenantId;
  /** Unsigned display name from the sticker: a hint only. */
  public final String merchantName;
  public final NodeCertificate nodeCert;

  public MerchantTarget(NodeCertificate nodeCert, String merchantName) {
    this.merchantId = nodeCert.merchantId;
    this.deviceId = nodeCert.deviceId;
    this.tenantId = nodeCert.tenantId;
    this.merchantName = merchantName;
    this.nodeCert = nodeCert;
  }
}

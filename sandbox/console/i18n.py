"""The consumer pages in English and Hindi: a small message catalogue.

Messages are keyed by their English text (gettext's convention, so a missing
translation falls back to readable English). Hindi is the first Indian language; the
consent notices themselves come from the consent manager in the languages the app
asked for (en, hi, mr), and the console shows the one matching the page's language.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = {"en": "English", "hi": "हिन्दी"}

HINDI = {
    "My consents": "मेरी सहमतियाँ",
    "My credentials": "मेरे प्रमाण-पत्र",
    "Who accessed my data": "मेरा डेटा किसने देखा",
    "My electricity use": "मेरी बिजली खपत",
    "My P2P trades": "मेरे P2P सौदे",
    "Pending requests": "लंबित अनुरोध",
    "Decided": "निर्णय लिए गए",
    "No consent requests yet.": "अभी तक कोई सहमति अनुरोध नहीं।",
    "Requested by": "अनुरोधकर्ता",
    "Data provider": "डेटा प्रदाता",
    "Purpose": "उद्देश्य",
    "Status": "स्थिति",
    "Open": "खोलें",
    "What you are asked to share": "आपसे क्या साझा करने को कहा गया है",
    "Notice": "सूचना",
    "Approve": "स्वीकार करें",
    "Approve with these limits": "इन सीमाओं के साथ स्वीकार करें",
    "Reject": "अस्वीकार करें",
    "Pause": "रोकें",
    "Resume": "फिर से शुरू करें",
    "Revoke": "वापस लें",
    "Narrow before approving": "स्वीकार करने से पहले सीमित करें",
    "Data types": "डेटा के प्रकार",
    "Granularity": "विस्तार स्तर",
    "Fetches allowed": "अनुमत बार",
    "per": "प्रति",
    "From": "से",
    "To": "तक",
    "Data kept for (days)": "डेटा रखने की अवधि (दिन)",
    "What was asked": "क्या माँगा गया",
    "What you allowed": "आपने क्या अनुमति दी",
    "Meters": "मीटर",
    "Dates": "तिथियाँ",
    "Expires": "समाप्ति",
    "History": "इतिहास",
    "When": "कब",
    "Who": "कौन",
    "What": "क्या",
    "Result": "परिणाम",
    "Accessed": "देखा गया",
    "Refused": "मना किया गया",
    "No one has accessed your data.": "किसी ने आपका डेटा नहीं देखा है।",
    "Collect my Energy Passport": "मेरा ऊर्जा पासपोर्ट प्राप्त करें",
    "Collect my Meter Digest": "मेरा मीटर सारांश प्राप्त करें",
    "Download": "डाउनलोड करें",
    "Share with the bank": "बैंक के साथ साझा करें",
    "You hold no credentials yet.": "आपके पास अभी कोई प्रमाण-पत्र नहीं है।",
    "Issuer": "जारीकर्ता",
    "Type": "प्रकार",
    "Collected": "प्राप्त",
    "Checked by the verifier": "सत्यापनकर्ता द्वारा जाँचा गया",
    "verified": "सत्यापित",
    "not verified": "सत्यापित नहीं",
    "Imported from the grid (kWh)": "ग्रिड से ली गई (kWh)",
    "Solar exported (kWh)": "सौर निर्यात (kWh)",
    "Day": "दिन",
    "Total": "कुल",
    "Total imported": "कुल आयात",
    "Total exported": "कुल निर्यात",
    "Show": "दिखाएँ",
    "Language": "भाषा",
    "Change": "बदलें",
    "Acting as": "इस रूप में",
    "Skip to content": "सामग्री पर जाएँ",
    "Signed in as": "साइन इन:",
    "Passkeys": "पासकी",
    "Sign out": "साइन आउट",
    "Sign in": "साइन इन",
    "Home": "मुख्य पृष्ठ",
    "Block": "ब्लॉक",
    "Time": "समय",
    "Done": "हो गया",
    "Your consumer ID": "आपकी उपभोक्ता आईडी",
    "The consumer is not onboarded yet.": "उपभोक्ता अभी पंजीकृत नहीं है।",
    "Trades": "सौदे",
    "Settlement": "निपटान",
    "No trades.": "कोई सौदा नहीं।",
    "Sold": "बेचा",
    "Bought": "खरीदा",
    "Metered per block, as the discom recorded it in the ledger for settlement.": (
        "प्रति ब्लॉक मीटर रीडिंग, जैसी डिस्कॉम ने निपटान के लिए खाते में दर्ज की।"
    ),
}

# The consent vocabulary's codes, in words (English needs them too).
ENGLISH = {
    "interval_consumption": "electricity used per interval",
    "net_export": "solar sent to the grid",
    "billing": "bills and billing readings",
    "events": "meter events",
    "15min": "every 15 minutes",
    "30min": "every 30 minutes",
    "hourly": "hourly",
    "daily": "daily",
    "monthly": "monthly",
    "hour": "hour",
    "day": "day",
    "week": "week",
    "month": "month",
    "year": "year",
    "periodic": "repeatedly",
    "one_time": "once",
}

HINDI.update(
    {
        "interval_consumption": "प्रति अंतराल बिजली खपत",
        "net_export": "ग्रिड को भेजी गई सौर बिजली",
        "billing": "बिल और बिलिंग रीडिंग",
        "events": "मीटर घटनाएँ",
        "15min": "हर 15 मिनट",
        "30min": "हर 30 मिनट",
        "hourly": "प्रति घंटा",
        "daily": "प्रति दिन",
        "monthly": "प्रति माह",
        "hour": "घंटा",
        "day": "दिन",
        "week": "सप्ताह",
        "month": "माह",
        "year": "वर्ष",
        "periodic": "बार-बार",
        "one_time": "एक बार",
    }
)

# The consumer's rooftop solar (DER onboarding) and P2P settlement.
ENGLISH.update(
    {
        "net_metering": "net metering",
        "net_billing": "net billing",
        "gross_metering": "gross metering",
        "APPROVED": "approved",
        "REJECTED": "rejected",
        "CHANGES_REQUESTED": "changes requested",
        "RECEIVED": "received, being decided",
        "AWAITING_CONSUMER_APPROVAL": "awaiting your approval",
        "DECLINED": "declined",
    }
)
HINDI.update(
    {
        "My rooftop solar": "मेरा रूफटॉप सोलर",
        "My connected systems": "मेरे जुड़े हुए सिस्टम",
        "Application": "आवेदन",
        "DER ID": "DER आईडी",
        "Meter ID (bidirectional)": "मीटर आईडी (द्विदिशीय)",
        "Capacity": "क्षमता",
        "Scheme": "योजना",
        "Approved": "स्वीकृत",
        "No connected system yet.": "अभी तक कोई जुड़ा हुआ सिस्टम नहीं।",
        "My DER credential": "मेरा DER प्रमाण-पत्र",
        "You hold no DER credential yet.": "आपके पास अभी कोई DER प्रमाण-पत्र नहीं है।",
        "You can show it to a P2P platform or a bank from": (
            "आप इसे P2P प्लेटफ़ॉर्म या बैंक को यहाँ से दिखा सकते हैं:"
        ),
        "My applications": "मेरे आवेदन",
        "Why": "क्यों",
        "No applications.": "कोई आवेदन नहीं।",
        "net_metering": "नेट मीटरिंग",
        "net_billing": "नेट बिलिंग",
        "gross_metering": "ग्रॉस मीटरिंग",
        "APPROVED": "स्वीकृत",
        "REJECTED": "अस्वीकृत",
        "CHANGES_REQUESTED": "बदलाव माँगे गए",
        "RECEIVED": "प्राप्त, निर्णय बाकी",
        # The consumer's approval of an installer's application (what, with whom, why).
        "Asks for your approval": "आपकी स्वीकृति माँगी गई है",
        "asks to apply for your rooftop solar connection": (
            "आपके रूफटॉप सोलर कनेक्शन के लिए आवेदन करने की अनुमति माँगता है"
        ),
        "Who asks": "कौन माँगता है",
        "Shared with": "किसके साथ साझा",
        "What is shared": "क्या साझा होगा",
        "If you decline": "यदि आप मना करते हैं",
        "Approve and share": "स्वीकार करें और साझा करें",
        "Decline": "मना करें",
        "Requests you answered": "जिन अनुरोधों का आपने उत्तर दिया",
        "Your answer": "आपका उत्तर",
        "AWAITING_CONSUMER_APPROVAL": "आपकी स्वीकृति बाकी",
        "DECLINED": "अस्वीकार किया",
        "active": "मान्य",
        "revoked": "रद्द",
        "suspended": "निलंबित",
        "My settlement": "मेरा निपटान",
        "Net": "शुद्ध राशि",
        "Energy": "ऊर्जा",
        "Deviation charges": "विचलन शुल्क",
        "Contracted (kWh)": "अनुबंधित (kWh)",
        "Delivered (kWh)": "प्रदान की गई (kWh)",
        "Shortfall (kWh)": "कमी (kWh)",
        "Not settled yet.": "अभी निपटान नहीं हुआ।",
    }
)

CATALOGUES = {"en": ENGLISH, "hi": HINDI}


def language(asked: str | None) -> str:
    return asked if asked in LANGUAGES else "en"


def translator(lang: str) -> Callable[[str], str]:
    catalogue = CATALOGUES.get(lang, {})

    def gettext(message: str) -> str:
        return catalogue.get(message, message)

    return gettext

"""What simulated users ask, in which language, and how the bot answers: the planted truth of insights.

[SIM] Every conversation asks one intent, in one language, in paraphrases that often share no
keyword ("where is my order" / "track my delivery"). Gap intents are ones the bot cannot answer:
its replies to them are fallbacks. A conversation may close positive or negative. The phrasebook is
small on purpose: a reader of ``make demo`` can check the topics against it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LANGUAGES: tuple[tuple[str, float], ...] = (("en", 0.40), ("es", 0.20), ("zh", 0.15), ("de", 0.15), ("ja", 0.10))
CLOSE_POSITIVE, CLOSE_NEGATIVE = "positive", "negative"


@dataclass(frozen=True)
class Intent:
    """One thing users ask about, in every language."""

    name: str
    gap: bool  # the bot has no answer: it falls back
    questions: dict[str, tuple[str, ...]]
    answers: dict[str, tuple[str, ...]]


# German and Japanese: the same intents, asked and answered in two more languages (one non-Latin script)
MORE_QUESTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "order_status": {
        "de": (
            "Wo ist meine Bestellung?",
            "Ich möchte meine Lieferung verfolgen",
            "Wurde meine Bestellung schon verschickt?",
            "Wann kommt meine Bestellung an?",
            "Meine Bestellung ist immer noch nicht da",
        ),
        "ja": (
            "注文した商品はどこですか？",
            "配送状況を確認したいです",
            "注文はもう発送されましたか？",
            "注文はいつ届きますか？",
            "注文した商品がまだ届きません",
        ),
    },
    "password_reset": {
        "de": (
            "Wie setze ich mein Passwort zurück?",
            "Ich habe mein Passwort vergessen",
            "Ich komme nicht mehr in mein Konto, neues Passwort bitte",
            "Passwort ändern",
            "Mein Passwort funktioniert nicht",
        ),
        "ja": (
            "パスワードをリセットするには？",
            "パスワードを忘れました",
            "ログインできません、パスワードを変えたいです",
            "パスワードを変更したい",
            "パスワードが使えません",
        ),
    },
    "refund": {
        "de": (
            "Kann ich eine Rückerstattung bekommen?",
            "Ich will mein Geld zurück",
            "Bitte erstatten Sie meinen Kauf",
            "Wie beantrage ich eine Erstattung für eine Rücksendung?",
            "Wann kommt meine Rückerstattung?",
        ),
        "ja": (
            "返金してもらえますか？",
            "お金を返してほしいです",
            "返金をお願いします",
            "返品の返金はどうすればいいですか？",
            "返金はいつ振り込まれますか？",
        ),
    },
    "opening_hours": {
        "de": (
            "Wie sind Ihre Öffnungszeiten?",
            "Wann haben Sie geöffnet?",
            "Haben Sie sonntags geöffnet?",
            "Bis wann haben Sie heute offen?",
            "Haben Sie an Feiertagen geöffnet?",
        ),
        "ja": (
            "営業時間は何時から何時までですか？",
            "お店は何時に開きますか？",
            "日曜日は営業していますか？",
            "今日は何時に閉まりますか？",
            "祝日も営業していますか？",
        ),
    },
    "cancel_subscription": {
        "de": (
            "Wie kündige ich mein Abo?",
            "Ich möchte mein Abonnement beenden",
            "Monatliches Abo kündigen",
            "Bitte kündigen Sie meine Mitgliedschaft",
            "Ich will das Abo nicht verlängern",
        ),
        "ja": (
            "サブスクリプションを解約するには？",
            "定期購読を解約したいです",
            "月額プランをやめたい",
            "会員登録を解約してください",
            "自動更新を止めたいです",
        ),
    },
    "change_address": {
        "de": (
            "Ich muss meine Lieferadresse ändern",
            "Ich bin umgezogen, bitte Adresse aktualisieren",
            "Kann ich die Adresse meiner Bestellung ändern?",
            "Die Straße in meiner Bestellung ist falsch",
            "Lieferadresse aktualisieren",
        ),
        "ja": (
            "配送先の住所を変更したいです",
            "引っ越したので住所を更新してください",
            "注文の住所を変更できますか？",
            "注文の住所が間違っています",
            "お届け先を変更したい",
        ),
    },
    "pricing": {
        "de": (
            "Was kostet der Pro-Tarif?",
            "Wie sind Ihre Preise?",
            "Gibt es Rabatt bei jährlicher Zahlung?",
            "Was kostet es pro Monat?",
            "Wie teuer ist der Business-Tarif?",
        ),
        "ja": (
            "プロプランの料金はいくらですか？",
            "料金を教えてください",
            "年払いの割引はありますか？",
            "月額はいくらですか？",
            "ビジネスプランの価格は？",
        ),
    },
    "app_crash": {
        "de": (
            "Die App stürzt ab, wenn ich die Einstellungen öffne",
            "Die Anwendung friert ständig ein",
            "Die App schließt sich von selbst",
            "Beim Start der App kommt eine Fehlermeldung",
            "App stürzt beim Start ab",
        ),
        "ja": (
            "設定を開くとアプリが落ちます",
            "アプリがすぐフリーズします",
            "アプリが勝手に終了します",
            "アプリを起動するとエラーが出ます",
            "アプリが起動時にクラッシュします",
        ),
    },
    "invoice": {
        "de": (
            "Wo kann ich meine Rechnung herunterladen?",
            "Ich brauche eine Quittung für meinen Kauf",
            "Schicken Sie mir bitte eine Kopie der Rechnung",
            "Können Sie mir die Rechnung mit MwSt. mailen?",
            "Rechnung für den letzten Monat",
        ),
        "ja": (
            "請求書はどこでダウンロードできますか？",
            "購入の領収書が必要です",
            "請求書のコピーを送ってください",
            "インボイスをメールで送れますか？",
            "先月の請求書がほしい",
        ),
    },
    "payment_failed": {
        "de": (
            "Meine Karte wurde abgelehnt",
            "Die Zahlung ist nicht durchgegangen",
            "Warum wurde meine Zahlung abgelehnt?",
            "Beim Bezahlen schlägt der Checkout fehl",
            "Mir wurde Geld abgebucht, aber die Zahlung ist fehlgeschlagen",
        ),
        "ja": (
            "カードが拒否されました",
            "支払いができませんでした",
            "なぜ支払いが拒否されたのですか？",
            "決済の途中でエラーになります",
            "引き落とされたのに支払いが失敗しました",
        ),
    },
    "delete_account": {
        "de": (
            "Bitte löschen Sie mein Konto",
            "Entfernen Sie alle meine persönlichen Daten",
            "Wie lösche ich mein Konto endgültig?",
            "Löschen Sie alles, was Sie über mich speichern",
            "Ich möchte mein Konto für immer schließen",
        ),
        "ja": (
            "アカウントを削除してください",
            "個人データをすべて消してください",
            "アカウントを完全に削除するには？",
            "私の情報をすべて削除してほしい",
            "アカウントを退会したいです",
        ),
    },
    "warranty": {
        "de": (
            "Deckt die Garantie Wasserschäden ab?",
            "Sind Unfallschäden abgedeckt?",
            "Wie lange ist die Garantie auf Kopfhörer?",
            "Mein Bildschirm ist gesprungen, ist das Garantie?",
            "Garantieanspruch für ein kaputtes Ladegerät",
        ),
        "ja": (
            "保証は水濡れも対象ですか？",
            "保証期間はどのくらいですか？",
            "画面が割れました、保証で直せますか？",
            "充電器が壊れたので保証を申請したい",
            "保証の範囲を教えてください",
        ),
    },
    "international_shipping": {
        "de": (
            "Liefern Sie nach Brasilien?",
            "Versenden Sie ins Ausland?",
            "Gibt es internationalen Versand?",
            "Liefern Sie Bestellungen nach Kanada?",
            "Welche Optionen gibt es für den internationalen Versand?",
        ),
        "ja": (
            "ブラジルへ発送できますか？",
            "海外発送はしていますか？",
            "海外への配送はありますか？",
            "カナダに届けてもらえますか？",
            "海外発送の送料はいくらですか？",
        ),
    },
    "gift_cards": {
        "de": (
            "Kann ich einen Geschenkgutschein kaufen?",
            "Verkaufen Sie Gutscheine?",
            "Wie löse ich eine Geschenkkarte ein?",
            "Mein Gutscheincode funktioniert nicht",
            "Guthaben meiner Geschenkkarte prüfen",
        ),
        "ja": (
            "ギフトカードは買えますか？",
            "商品券は販売していますか？",
            "ギフトカードの使い方は？",
            "ギフトカードのコードが使えません",
            "ギフトカードの残高を確認したい",
        ),
    },
}
MORE_ANSWERS: dict[str, dict[str, tuple[str, ...]]] = {
    "order_status": {
        "de": (
            "Ihre Bestellung hat gestern unser Lager verlassen; sie kommt in 2 Tagen an.",
            "Hier ist der Link zur Sendungsverfolgung.",
        ),
        "ja": ("ご注文は昨日出荷されました。2日以内に届きます。", "配送状況の確認リンクはこちらです。"),
    },
    "password_reset": {
        "de": (
            "Nutzen Sie „Passwort vergessen“ auf der Anmeldeseite.",
            "Ich habe Ihnen einen Link zum Zurücksetzen geschickt.",
        ),
        "ja": ("ログイン画面の「パスワードを忘れた」を押してください。", "リセット用のリンクをメールで送りました。"),
    },
    "refund": {
        "de": (
            "Erstattungen dauern 5–7 Werktage nach Eingang der Ware.",
            "Ich habe die Erstattung für Sie eingeleitet.",
        ),
        "ja": ("商品到着後5〜7営業日で返金されます。", "返金の手続きを開始しました。"),
    },
    "opening_hours": {
        "de": ("Wir haben Montag bis Samstag von 9 bis 18 Uhr geöffnet.", "Unsere Filialen öffnen um neun."),
        "ja": ("月曜から土曜の9時から18時まで営業しています。", "店舗は9時に開店します。"),
    },
    "cancel_subscription": {
        "de": ("Sie können unter Konto → Tarif kündigen.", "Ihr Abo ist gekündigt und verlängert sich nicht."),
        "ja": ("アカウント → プランから解約できます。", "サブスクリプションは解約され、更新されません。"),
    },
    "change_address": {
        "de": (
            "Ich habe die Adresse Ihrer Bestellung aktualisiert.",
            "Ändern Sie sie unter Bestellungen → Bearbeiten.",
        ),
        "ja": ("ご注文の住所を更新しました。", "発送前なら「注文 → 編集」から変更できます。"),
    },
    "pricing": {
        "de": ("Der Pro-Tarif kostet 12 € im Monat oder 120 € im Jahr.", "Alle Tarife finden Sie auf der Preisseite."),
        "ja": ("プロプランは月額12ユーロ、年額120ユーロです。", "すべてのプランは料金ページをご覧ください。"),
    },
    "app_crash": {
        "de": ("Bitte aktualisieren Sie auf Version 4.2.1; sie behebt den Absturz.", "Installieren Sie die App neu."),
        "ja": ("バージョン4.2.1に更新してください。不具合は修正済みです。", "アプリを再インストールしてください。"),
    },
    "invoice": {
        "de": ("Rechnungen finden Sie unter Konto → Abrechnung.", "Ich habe Ihnen die Rechnung gemailt."),
        "ja": ("請求書はアカウント → 請求から確認できます。", "請求書をメールでお送りしました。"),
    },
    "payment_failed": {
        "de": (
            "Die Ablehnung kommt von Ihrer Bank; versuchen Sie eine andere Karte.",
            "Versuchen Sie es mit 3-D Secure erneut.",
        ),
        "ja": (
            "拒否はカード会社によるものです。別のカードをお試しください。",
            "3-Dセキュアを有効にして再度お試しください。",
        ),
    },
    "delete_account": {
        "de": ("Ihr Konto wird innerhalb von 30 Tagen gelöscht.", "Unter Konto → Datenschutz → Konto löschen."),
        "ja": ("アカウントは30日以内に削除されます。", "アカウント → プライバシー → 削除から操作してください。"),
    },
}


def _intent(name: str, questions: dict[str, tuple[str, ...]], answers: dict[str, tuple[str, ...]]) -> Intent:
    return Intent(name, False, questions | MORE_QUESTIONS[name], answers | MORE_ANSWERS[name])


def _gap(name: str, questions: dict[str, tuple[str, ...]]) -> Intent:
    return Intent(name, True, questions | MORE_QUESTIONS[name], {})


INTENTS: tuple[Intent, ...] = (
    _intent(
        "order_status",
        {
            "en": (
                "Where is my order?",
                "Track my delivery",
                "Has my order shipped yet?",
                "When will my order arrive?",
                "My order still hasn't shown up",
            ),
            "es": (
                "¿Dónde está mi pedido?",
                "Quiero rastrear mi pedido",
                "¿Cuándo llega mi pedido?",
                "Mi pedido todavía no ha llegado",
                "¿Ya enviaron mi pedido?",
            ),
            "zh": ("我的订单在哪里？", "帮我查一下订单物流", "我的订单什么时候到？", "订单还没送到", "订单发货了吗？"),
        },
        {
            "en": (
                "Your order left our warehouse yesterday; it arrives within 2 days.",
                "Here is the tracking link for your delivery.",
            ),
            "es": ("Tu pedido salió ayer del almacén; llega en 2 días.", "Aquí tienes el enlace de seguimiento."),
            "zh": ("您的订单昨天已发货，两天内送达。", "这是您的物流跟踪链接。"),
        },
    ),
    _intent(
        "password_reset",
        {
            "en": (
                "How do I reset my password?",
                "I forgot my login credentials",
                "I forgot my password",
                "Locked out, I need a new password",
                "Change my password please",
            ),
            "es": (
                "¿Cómo restablezco mi contraseña?",
                "Olvidé mi contraseña",
                "No puedo entrar, olvidé la contraseña",
                "Necesito cambiar la contraseña",
                "Mi contraseña no funciona",
            ),
            "zh": ("怎么重置密码？", "我忘记密码了", "密码错误登录不了", "账户被锁定了，要改密码", "我想修改密码"),
        },
        {
            "en": (
                "Use 'Forgot password' on the sign-in page; the link is valid for one hour.",
                "I've sent a reset link to your e-mail address.",
            ),
            "es": ("Usa 'Olvidé mi contraseña' en la página de inicio de sesión.", "Te envié un enlace a tu correo."),
            "zh": ("请在登录页点击“忘记密码”，链接一小时内有效。", "重置链接已发送到您的邮箱。"),
        },
    ),
    _intent(
        "refund",
        {
            "en": (
                "Can I get a refund?",
                "I want my money back",
                "Please refund my purchase",
                "How do I get a refund for a returned item?",
                "Refund request for my last order",
            ),
            "es": (
                "¿Puedo obtener un reembolso?",
                "Quiero que me devuelvan el dinero",
                "Solicito un reembolso",
                "¿Cómo pido el reembolso de un producto?",
                "¿Cuándo llega mi reembolso?",
            ),
            "zh": ("可以退款吗？", "我要退款", "怎么申请退货退款？", "请给我退款", "退款多久到账？"),
        },
        {
            "en": ("Refunds take 5–7 business days once we receive the item.", "I've opened a refund for you."),
            "es": ("Los reembolsos tardan de 5 a 7 días hábiles.", "He abierto la solicitud de reembolso."),
            "zh": ("退款将在收到商品后5至7个工作日内到账。", "已为您提交退款申请。"),
        },
    ),
    _intent(
        "opening_hours",
        {
            "en": (
                "What are your opening hours?",
                "When are you open?",
                "Are you open on Sunday?",
                "What time do you close today?",
                "Are you open on public holidays?",
            ),
            "es": (
                "¿Cuál es su horario de atención?",
                "¿A qué hora abren?",
                "¿Abren los domingos?",
                "¿A qué hora cierran hoy?",
                "¿Qué horario tiene la tienda?",
            ),
            "zh": ("你们几点营业？", "营业时间是什么？", "周日营业吗？", "今天营业到几点？", "节假日营业吗？"),
        },
        {
            "en": ("We are open 9:00–18:00, Monday to Saturday.", "Our stores open at nine and close at six."),
            "es": ("Abrimos de 9:00 a 18:00, de lunes a sábado.", "La tienda abre a las nueve."),
            "zh": ("我们周一至周六9:00–18:00营业。", "门店早上九点开门，晚上六点关门。"),
        },
    ),
    _intent(
        "cancel_subscription",
        {
            "en": (
                "How do I cancel my subscription?",
                "Stop my monthly plan",
                "I want to end my membership",
                "Cancel my subscription please",
                "Unsubscribe me from the recurring billing",
            ),
            "es": (
                "¿Cómo cancelo mi suscripción?",
                "Quiero darme de baja de la suscripción",
                "Cancelar mi suscripción mensual",
                "Quiero terminar mi suscripción",
                "No quiero renovar la suscripción",
            ),
            "zh": ("怎么取消订阅？", "我要取消订阅", "取消自动续费订阅", "我不想续订了", "停止我的订阅"),
        },
        {
            "en": (
                "You can cancel under Account → Plan; it stays active until the period ends.",
                "Your subscription is cancelled and will not renew.",
            ),
            "es": ("Puedes cancelar en Cuenta → Plan.", "Tu suscripción quedó cancelada."),
            "zh": ("您可以在“账户 → 套餐”中取消订阅。", "您的订阅已取消，不会再续费。"),
        },
    ),
    _intent(
        "change_address",
        {
            "en": (
                "I need to change my shipping address",
                "I moved, please update where you deliver",
                "Can I edit the address on my order?",
                "Wrong street on my order, can you fix it?",
                "Update my delivery address",
            ),
            "es": (
                "Necesito cambiar mi dirección de envío",
                "Me mudé, actualicen mi dirección",
                "¿Puedo modificar la dirección de entrega?",
                "La dirección del pedido está mal",
                "Cambiar dirección de entrega",
            ),
            "zh": (
                "我要修改收货地址",
                "我搬家了，请更新地址",
                "订单地址填错了",
                "能改一下配送地址吗？",
                "更换收件地址",
            ),
        },
        {
            "en": ("I've updated the address on your order.", "Change it under Orders → Edit before it ships."),
            "es": ("He actualizado la dirección de tu pedido.", "Cámbiala en Pedidos → Editar."),
            "zh": ("已为您更新订单地址。", "发货前可在“订单 → 编辑”中修改地址。"),
        },
    ),
    _intent(
        "pricing",
        {
            "en": (
                "How much does the pro plan cost?",
                "What are your prices?",
                "Is there a discount for annual billing?",
                "What's the price per month?",
                "How expensive is the business tier?",
            ),
            "es": (
                "¿Cuánto cuesta el plan pro?",
                "¿Cuáles son sus precios?",
                "¿Hay descuento en el precio anual?",
                "¿Cuál es el precio mensual?",
                "Precio del plan empresa",
            ),
            "zh": ("专业版价格多少？", "价格是多少？", "年付价格有折扣吗？", "每月价格是多少？", "企业版价格怎么算？"),
        },
        {
            "en": ("The pro plan is 12 € a month, or 120 € a year.", "See the pricing page for every plan."),
            "es": ("El plan pro cuesta 12 € al mes.", "Consulta la página de precios."),
            "zh": ("专业版每月12欧元，年付120欧元。", "请查看价格页面了解所有套餐。"),
        },
    ),
    _intent(
        "app_crash",
        {
            "en": (
                "The app crashes when I open settings",
                "Your application keeps freezing",
                "The app closes by itself",
                "I get an error screen every time I launch the app",
                "App crashes on startup",
            ),
            "es": (
                "La aplicación se cierra sola",
                "La aplicación se bloquea al abrir ajustes",
                "La aplicación no responde",
                "Me sale un error al abrir la aplicación",
                "La aplicación se queda cargando",
            ),
            "zh": ("应用一打开就闪退", "应用总是卡死", "打开设置时应用崩溃", "应用启动就报错", "应用一直在加载"),
        },
        {
            "en": ("Please update to version 4.2.1; it fixes that crash.", "Try reinstalling the app."),
            "es": ("Actualiza a la versión 4.2.1, corrige ese error.", "Prueba a reinstalar la app."),
            "zh": ("请更新到4.2.1版本，已修复该问题。", "请尝试重新安装应用。"),
        },
    ),
    _intent(
        "invoice",
        {
            "en": (
                "Where can I download my invoice?",
                "I need a receipt for my purchase",
                "Send me a copy of my invoice",
                "Can you email the VAT invoice?",
                "Get an invoice for last month",
            ),
            "es": (
                "¿Dónde descargo mi factura?",
                "Necesito una factura de mi compra",
                "Envíenme una copia de la factura",
                "¿Pueden mandarme la factura con IVA?",
                "Factura del mes pasado",
            ),
            "zh": ("在哪里下载发票？", "我需要购买发票", "请把发票发给我", "能开增值税发票吗？", "上个月的发票"),
        },
        {
            "en": ("Invoices are under Account → Billing.", "I've e-mailed your invoice."),
            "es": ("Las facturas están en Cuenta → Facturación.", "Te envié la factura por correo."),
            "zh": ("发票在“账户 → 账单”中下载。", "发票已发送到您的邮箱。"),
        },
    ),
    _intent(
        "payment_failed",
        {
            "en": (
                "My card was declined",
                "The payment didn't go through",
                "Why was my payment rejected?",
                "Checkout fails when I pay",
                "I was charged but the payment failed",
            ),
            "es": (
                "Mi tarjeta fue rechazada",
                "El pago no se completó",
                "¿Por qué rechazaron mi pago?",
                "Falla el pago al finalizar la compra",
                "Me cobraron pero el pago falló",
            ),
            "zh": ("我的银行卡付款被拒了", "付款失败", "为什么付款被拒绝？", "结账时付款不成功", "扣款了但付款失败"),
        },
        {
            "en": ("Declines come from your bank; try another card or contact them.", "Retry with 3-D Secure on."),
            "es": ("El rechazo viene de tu banco; prueba otra tarjeta.", "Reintenta con 3-D Secure."),
            "zh": ("拒付来自您的银行，请换一张卡或联系银行。", "请开启3-D Secure后重试。"),
        },
    ),
    _intent(
        "delete_account",
        {
            "en": (
                "Please delete my account",
                "Remove all my personal data",
                "How do I delete my account permanently?",
                "Erase everything you store about me",
                "I want to close my account for good",
            ),
            "es": (
                "Borren mi cuenta, por favor",
                "Eliminen todos mis datos personales",
                "¿Cómo elimino mi cuenta?",
                "Quiero eliminar mi cuenta definitivamente",
                "Borrar mi cuenta y mis datos",
            ),
            "zh": (
                "请注销我的账户",
                "删除我的所有个人数据",
                "怎么永久注销账户？",
                "我要注销账户",
                "注销账户并清除资料",
            ),
        },
        {
            "en": ("Your account will be deleted within 30 days.", "Use Account → Privacy → Delete account."),
            "es": ("Tu cuenta se eliminará en 30 días.", "Ve a Cuenta → Privacidad → Eliminar cuenta."),
            "zh": ("您的账户将在30天内注销。", "请在“账户 → 隐私 → 注销账户”中操作。"),
        },
    ),
    _gap(
        "warranty",
        {
            "en": (
                "Does the warranty cover water damage?",
                "Is accidental damage covered?",
                "How long is the warranty on headphones?",
                "My screen cracked, is that under warranty?",
                "Warranty claim for a broken charger",
            ),
            "es": (
                "¿La garantía cubre daños por agua?",
                "¿Cuánto dura la garantía?",
                "Se rompió la pantalla, ¿entra en garantía?",
                "Reclamo de garantía por un cargador roto",
                "¿Qué cubre la garantía?",
            ),
            "zh": (
                "保修包括进水吗？",
                "保修期多长？",
                "屏幕碎了可以保修吗？",
                "充电器坏了怎么保修？",
                "保修范围是什么？",
            ),
        },
    ),
    _gap(
        "international_shipping",
        {
            "en": (
                "Do you ship to Brazil?",
                "Can you deliver abroad?",
                "Is international shipping available?",
                "Do you ship orders to Canada?",
                "International shipping options?",
            ),
            "es": (
                "¿Hacen envíos a Brasil?",
                "¿Hacen envíos al extranjero?",
                "¿Tienen envíos internacionales?",
                "¿Hacen envíos a Canadá?",
                "Opciones de envío internacional",
            ),
            "zh": (
                "可以国际配送到巴西吗？",
                "支持国际配送吗？",
                "能国际发货到海外吗？",
                "可以国际配送到加拿大吗？",
                "国际配送运费多少？",
            ),
        },
    ),
    _gap(
        "gift_cards",
        {
            "en": (
                "Can I buy a gift card?",
                "Do you sell vouchers?",
                "How do I redeem a gift card?",
                "My gift card code doesn't work",
                "Gift card balance check",
            ),
            "es": (
                "¿Puedo comprar una tarjeta regalo?",
                "¿Venden tarjetas regalo?",
                "¿Cómo canjeo una tarjeta regalo?",
                "Mi código de tarjeta regalo no funciona",
                "Saldo de mi tarjeta regalo",
            ),
            "zh": ("可以买礼品卡吗？", "你们卖礼品卡吗？", "礼品卡怎么兑换？", "礼品卡代码无效", "查询礼品卡余额"),
        },
    ),
)

FALLBACKS: dict[str, tuple[str, ...]] = {
    "en": (
        "Sorry, I don't know the answer to that.",
        "I'm not sure I understand. Could you rephrase?",
        "That's outside what I can help with yet.",
    ),
    "es": (
        "Lo siento, no sé la respuesta a eso.",
        "No estoy seguro de entender. ¿Puedes reformularlo?",
        "Eso está fuera de lo que puedo ayudar todavía.",
    ),
    "zh": ("抱歉，我不知道这个问题的答案。", "我不太明白，您能换个说法吗？", "这个问题我暂时无法帮助您。"),
    "de": (
        "Das kann ich leider nicht beantworten.",
        "Entschuldigung, das habe ich nicht verstanden. Anders formulieren?",
        "Dabei kann ich Ihnen noch nicht weiterhelfen.",
    ),
    "ja": (
        "申し訳ありません、その質問にはお答えできません。",
        "すみません、よく分かりませんでした。言い換えていただけますか？",
        "その件はまだお手伝いできません。",
    ),
}
FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "en": ("ok", "And how long does that take?", "Can you explain a bit more?", "Is there anything else I should do?"),
    "es": ("vale", "¿Y cuánto tarda eso?", "¿Puedes explicarlo un poco más?", "¿Tengo que hacer algo más?"),
    "zh": ("好的", "那需要多久？", "能再详细说明一下吗？", "我还需要做什么吗？"),
    "de": ("ok", "Und wie lange dauert das?", "Können Sie das genauer erklären?", "Muss ich sonst noch etwas tun?"),
    "ja": ("はい", "どのくらいかかりますか？", "もう少し詳しく教えてください。", "他に何かする必要がありますか？"),
}
FOLLOW_UP_REPLIES: dict[str, tuple[str, ...]] = {
    "en": ("Usually within a day.", "Nothing else, you're all set."),
    "es": ("Normalmente en un día.", "Nada más, todo listo."),
    "zh": ("通常一天内完成。", "不需要其他操作了。"),
    "de": ("Normalerweise innerhalb eines Tages.", "Sonst nichts, alles erledigt."),
    "ja": ("通常は1日以内です。", "他には何も必要ありません。"),
}
CLOSINGS: dict[str, dict[str, tuple[str, ...]]] = {
    CLOSE_POSITIVE: {
        "en": ("Thanks, that was really helpful!", "Great, thank you so much!", "Perfect, that solved it. Love it!"),
        "es": ("¡Gracias, me ayudó mucho!", "¡Perfecto, muchas gracias!", "¡Genial, resuelto!"),
        "zh": ("谢谢，非常有帮助！", "太好了，非常感谢！", "完美，问题解决了！"),
        "de": ("Danke, das hat mir sehr geholfen!", "Super, vielen Dank!", "Perfekt, Problem gelöst!"),
        "ja": (
            "ありがとうございます、とても助かりました！",
            "素晴らしい、本当にありがとう！",
            "完璧です、解決しました！",
        ),
    },
    CLOSE_NEGATIVE: {
        "en": (
            "This is useless, I'm very disappointed.",
            "Terrible service, that didn't help at all.",
            "Awful. I'm angry and still stuck.",
        ),
        "es": ("Esto no sirve, estoy muy decepcionado.", "Pésimo servicio, no me ayudó.", "Horrible, sigo igual."),
        "zh": ("没用，太失望了。", "服务太差了，一点帮助都没有。", "糟糕，我很生气。"),
        "de": (
            "Das ist nutzlos, ich bin sehr enttäuscht.",
            "Schrecklicher Service, das hat gar nicht geholfen.",
            "Furchtbar. Ich bin wütend.",
        ),
        "ja": (
            "役に立たない、とてもがっかりです。",
            "ひどい対応で、全く助けになりませんでした。",
            "最悪です。本当に腹が立ちます。",
        ),
    },
}
CLOSING_REPLIES: dict[str, dict[str, str]] = {
    CLOSE_POSITIVE: {
        "en": "You're welcome!",
        "es": "¡De nada!",
        "zh": "不客气！",
        "de": "Gern geschehen!",
        "ja": "どういたしまして！",
    },
    CLOSE_NEGATIVE: {
        "en": "I'm sorry to hear that.",
        "es": "Lamento oír eso.",
        "zh": "很抱歉听到这个。",
        "de": "Das tut mir leid.",
        "ja": "申し訳ございません。",
    },
}
EMAIL_SHARE = 0.03
MARKUP_SHARE = 0.02
MARKUP = "Is this <b>safe</b>? <script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
EMAIL_INTRO: dict[str, str] = {
    "en": "- my email is",
    "es": "- mi correo es",
    "zh": "我的邮箱是",
    "de": "- meine E-Mail ist",
    "ja": "メールアドレスは",
}
REFERENCE: dict[str, str] = {
    "en": "Ref. {number}.",
    "es": "Ref. {number}.",
    "zh": "编号 {number}。",
    "de": "Ref. {number}.",
    "ja": "番号 {number}。",
}
_OPENERS: dict[str, tuple[str, ...]] = {
    "en": ("", "", "Hi, ", "Hello! ", "hey "),
    "es": ("", "", "Hola, "),
    "zh": ("", "", "你好，"),
    "de": ("", "", "Hallo, "),
    "ja": ("", "", "こんにちは、"),
}


@dataclass(frozen=True)
class Plan:
    """What one conversation is about and how it closes: drawn once, from its own RNG."""

    intent: Intent
    language: str
    close: str | None  # positive, negative, or no closing message
    fixed_answers: bool = False  # one answer text per intent and language, no reference number

    def opening(self, rng: random.Random) -> str:
        """The opening question: a paraphrase of the intent, sometimes with a greeting, now and then
        with the user's e-mail address (personal data that ``redact_content`` masks)."""
        question = rng.choice(_OPENERS[self.language]) + rng.choice(self.intent.questions[self.language])
        if rng.random() < EMAIL_SHARE:
            question += f" {EMAIL_INTRO[self.language]} user{rng.randrange(1000, 10_000)}@example.com"
        return question

    def reply_to_question(self, rng: random.Random) -> str:
        """The bot's answer, personalised with a reference number as real bots' answers are; a gap
        intent's fallback is canned: the same words whatever was asked."""
        if self.intent.gap:
            return rng.choice(FALLBACKS[self.language])
        if self.fixed_answers:
            return self.intent.answers[self.language][0]
        reference = REFERENCE[self.language].format(number=rng.randrange(10_000, 100_000))
        return f"{rng.choice(self.intent.answers[self.language])} {reference}"

    def follow_up(self, rng: random.Random, last: bool) -> str:
        """A later user message; the last one carries the close. Now and then one holds markup: a
        viewer of transcripts must show it as text, never run it."""
        if last and self.close is not None:
            return rng.choice(CLOSINGS[self.close][self.language])
        if rng.random() < MARKUP_SHARE:
            return MARKUP
        return rng.choice(FOLLOW_UPS[self.language])

    def reply_to_follow_up(self, rng: random.Random, after_close: bool) -> str:
        """The bot's reply to a later message."""
        if after_close and self.close is not None:
            return CLOSING_REPLIES[self.close][self.language]
        pool = FALLBACKS if self.intent.gap else FOLLOW_UP_REPLIES
        return rng.choice(pool[self.language])


def draw_plan(rng: random.Random, fixed_answers: bool = False) -> Plan:
    """One conversation's plan: intent (a fifth of them gaps), language, and close."""
    intent = rng.choice(INTENTS)
    roll, language = rng.random(), LANGUAGES[-1][0]
    for code, share in LANGUAGES:
        if roll < share:
            language = code
            break
        roll -= share
    close_roll = rng.random()
    close = CLOSE_POSITIVE if close_roll < 0.3 else CLOSE_NEGATIVE if close_roll < 0.5 else None
    return Plan(intent, language, close, fixed_answers)
